# Copyright: pve.access developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin behind every pve.access module.

Ansible cannot pipeline a binary module: for each task it makes a temporary
directory on the target, copies the whole module binary (about 3 MB) and an
arguments file there, changes their modes, runs the binary and removes the
directory. This action runs the same binary with the same arguments, faster:

- on the local connection, the binary where the collection is installed,
  with its arguments on standard input: no copy at all;
- on any other connection, a copy kept on the target in a content-addressed
  cache (``~/.cache/pve.access/<module>-<sha256>`` of the connecting user,
  directory and file writable by that user only), checked before each run
  (owner, mode, SHA-256: an entry that fails is never run but replaced) and
  run in ONE remote command with its arguments on standard input, the way
  Ansible pipelines a Python module;
- under ``async``, or with ``pve_access_binary_cache: false``, the way
  Ansible runs any binary module (copy per task, arguments file).

The target's platform, home directory and user id are asked once per host
(``uname``) and kept as the fact ``pve_access_targets`` for the rest of the
run; a target that is not Linux on x86_64 fails at once with what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.collection_loader import resource_from_fqcr
from ansible.utils.display import Display

display = Display()

# Binaries live in binaries/<os>-<arch>/ at the collection root, where the module
# loader does not look: plugins/modules/<module>.py holds the documentation.
BIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'binaries')
SUPPORTED = ('linux-x86_64',)
DEFAULT_CACHE = '~/.cache/pve.access'
FACT = 'pve_access_targets'

# What `uname -sm` prints, as the <os>-<arch> name of a binary directory.
_OS = {'Linux': 'linux', 'Darwin': 'darwin', 'FreeBSD': 'freebsd'}
_ARCH = {'x86_64': 'x86_64', 'amd64': 'x86_64', 'aarch64': 'aarch64', 'arm64': 'aarch64'}

# Marks the remote command prints instead of running the binary.
MISS = 'PVE_ACCESS_CACHE_MISS'

_sha256_cache: dict[str, str] = {}


def platform_name(system: str, machine: str) -> str:
    """`uname -s`, `uname -m` -> the <os>-<arch> name of a binary directory."""
    return '%s-%s' % (_OS.get(system, system.lower()), _ARCH.get(machine, machine.lower()))


def sha256_of(path: str) -> str:
    digest = _sha256_cache.get(path)
    if digest is None:
        h = hashlib.sha256()
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                h.update(block)
        digest = _sha256_cache[path] = h.hexdigest()
    return digest


def run_script(entry: str, uid: str) -> str:
    """The one remote command of a task, as a POSIX sh script.

    It reads one line of `export` words (the task's environment, kept off the
    command line since it may hold credentials), checks the cache entry and
    runs it with the rest of standard input as the module's arguments. An
    entry that is missing, not a regular file, not owned by `uid`, writable by
    others, or whose SHA-256 is not the one in its name is not run: the
    script prints MISS and why, and the controller replaces it.
    """
    digest = entry.rsplit('-', 1)[1]
    q = shlex.quote
    return (
        'IFS= read -r pve_env || exit 90; eval "$pve_env"; '
        'f=%(f)s; d=${f%%/*}; '
        'if [ ! -e "$f" ]; then echo "%(miss)s missing"; exit 0; fi; '
        'if [ -h "$f" ] || [ ! -f "$f" ] || [ -h "$d" ]; then echo "%(miss)s not a regular file"; exit 0; fi; '
        'set -- $(stat -c "%%u %%a" "$d" "$f"); '
        'if [ "$1" != %(uid)s ] || [ "$3" != %(uid)s ]; then echo "%(miss)s wrong owner"; exit 0; fi; '
        'for m in "$2" "$4"; do case "$m" in *[2367]? | *[2367]) echo "%(miss)s writable by others"; exit 0;; esac; done; '
        'set -- $(sha256sum "$f"); '
        'if [ "$1" != %(digest)s ]; then echo "%(miss)s hash mismatch"; exit 0; fi; '
        'exec "$f" -'
    ) % dict(f=q(entry), miss=MISS, uid=q(uid), digest=digest)


class BinaryModuleAction(ActionBase):
    """Runs the pve.access module binary of the task's name (see the module docstring)."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        self._module = self._task.resolved_action or self._task.action
        self._leaf = self._module.rsplit('.', 1)[-1]
        self._facts = {}
        local = self._is_local()
        become = self._connection.become
        classic = (bool(self._task.async_val) or not self._cache_enabled(task_vars)
                   or (become is not None and not become.pipelining))
        try:
            if classic:
                wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
                result.update(self._execute_module(module_name=self._module, task_vars=task_vars,
                                                   wrap_async=wrap_async))
            elif local:
                result.update(self._run_local(task_vars))
            else:
                result.update(self._run_cached(task_vars))
        finally:
            if not self._task.async_val:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        if self._facts:
            result.setdefault('ansible_facts', {}).update(self._facts)
        return result

    def _cache_enabled(self, task_vars):
        return boolean(self._templar.template(task_vars.get('pve_access_binary_cache', True)), strict=False)

    # --- where the binary is --------------------------------------------

    def _binary(self, plat):
        if plat not in SUPPORTED:
            raise AnsibleError(
                '%s runs on Linux x86_64 only, and this target is %s: run the task on a Linux x86_64 host, '
                'for example the Proxmox VE node or the controller (delegate_to: localhost, with api_host '
                'set to the node)' % (self._module, plat))
        path = os.path.join(BIN_DIR, plat, self._leaf)
        if not os.path.isfile(path):
            raise AnsibleError('%s: the module binary %s is missing from the collection: reinstall pve.access'
                               % (self._module, path))
        return path

    def _configure_module(self, module_name, module_args, task_vars):
        # The classic way (async, cache turned off): Ansible's own binary
        # module path, with our binary instead of the doc-only .py module.
        if module_name != self._module:  # async_wrapper
            return super()._configure_module(module_name, module_args, task_vars)
        path = self._binary(self._target_platform_for_classic(task_vars))
        try:
            from ansible.executor.module_common import _BuiltModule
        except ImportError:  # ansible-core before 2.19
            return 'binary', None, b'', path
        return _BuiltModule(b_module_data=b'', module_style='binary', shebang=None,
                            serialization_profile='legacy'), path

    def _is_local(self):
        return resource_from_fqcr(self._connection.transport) == 'local'

    def _target_platform_for_classic(self, task_vars):
        if self._is_local():
            return platform_name(platform.system(), platform.machine())
        return self._target(task_vars)['platform']

    # --- arguments and results -------------------------------------------

    def _module_args_json(self, task_vars):
        args = dict(self._task.args)
        self._update_module_args(self._module, args, task_vars)
        return json.dumps(args)

    def _parse(self, res):
        try:
            return self._parse_returned_data(res, 'legacy')
        except TypeError:  # ansible-core before 2.19: no serialization profile
            return self._parse_returned_data(res)

    def _environment(self):
        """The task's environment as one line of shell words for the remote script."""
        raw = {}
        self._compute_environment_string(raw)
        line = ' '.join('export %s=%s;' % (k, shlex.quote(str(v))) for k, v in raw.items())
        if '\n' in line or '\r' in line:
            raise AnsibleError('%s: environment values with line breaks are not supported' % self._module)
        return line

    def _finish(self, data):
        from ansible.vars.clean import remove_internal_keys
        remove_internal_keys(data)
        return data

    # --- local connection: run in place ----------------------------------

    def _run_local(self, task_vars):
        path = self._binary(platform_name(platform.system(), platform.machine()))
        env = self._environment()
        stdin = (env + '\n' + self._module_args_json(task_vars)).encode()
        cmd = '/bin/sh -c %s' % shlex.quote(
            'IFS= read -r pve_env || exit 90; eval "$pve_env"; exec %s -' % shlex.quote(path))
        display.vvv('pve.access: running %s in place' % path)
        res = self._low_level_execute_command(cmd, sudoable=True, in_data=stdin)
        return self._finish(self._parse(res))

    # --- other connections: the target's cache -----------------------------

    def _target_key(self, task_vars):
        conn = self._connection
        addr = self._get_remote_addr(task_vars)
        user = self._get_remote_user() or ''
        port = ''
        try:
            port = conn.get_option('port') or ''
        except Exception:  # a connection without a port option
            pass
        return '%s://%s@%s:%s' % (conn.transport, user, addr, port)

    def _target(self, task_vars):
        """This target's {platform, home, uid}: asked once per host, then kept as a fact."""
        known = dict(task_vars.get('ansible_facts', {}).get(FACT) or {})
        if self._task.delegate_to:
            delegated = task_vars.get('ansible_delegated_vars', {}).get(self._task.delegate_to, {})
            known.update(delegated.get('ansible_facts', {}).get(FACT) or {})
        key = self._target_key(task_vars)
        if key in known:
            return known[key]
        res = self._low_level_execute_command('uname -s; uname -m; id -u; echo "$HOME"', sudoable=False)
        lines = res['stdout'].splitlines()
        if res['rc'] != 0 or len(lines) < 4:
            raise AnsibleError('%s: cannot ask the target for its platform (uname, id): rc=%s %s'
                               % (self._module, res['rc'], res['stderr'].strip()))
        info = {'platform': platform_name(lines[0].strip(), lines[1].strip()),
                'uid': lines[2].strip(), 'home': lines[3].strip()}
        display.vvv('pve.access: target %s is %s' % (key, info['platform']))
        known[key] = info
        self._facts = {FACT: known}
        return info

    def _cache_dir(self, info, task_vars):
        cache = self._templar.template(task_vars.get('pve_access_cache_dir', DEFAULT_CACHE))
        if cache == '~' or cache.startswith('~/'):
            cache = info['home'] + cache[1:]
        if not cache.startswith('/'):
            raise AnsibleError('pve_access_cache_dir must be an absolute path or start with ~/: %s' % cache)
        return cache.rstrip('/')

    def _run_cached(self, task_vars):
        info = self._target(task_vars)
        local = self._binary(info['platform'])
        entry = '%s/%s-%s' % (self._cache_dir(info, task_vars), self._leaf, sha256_of(local))
        stdin = (self._environment() + '\n' + self._module_args_json(task_vars)).encode()
        cmd = '/bin/sh -c %s' % shlex.quote(run_script(entry, info['uid']))
        for attempt in (1, 2):
            res = self._low_level_execute_command(cmd, sudoable=True, in_data=stdin)
            out = res['stdout'].strip()
            if not out.startswith(MISS):
                return self._finish(self._parse(res))
            why = out[len(MISS):].strip()
            if attempt == 2:
                raise AnsibleError(
                    '%s: the cached binary %s is still refused after it was replaced (%s); if the task '
                    'becomes another user, that user may not reach the connecting user\'s home: set '
                    'pve_access_cache_dir to a directory it can read, or pve_access_binary_cache: false'
                    % (self._module, entry, why))
            if why != 'missing':
                display.warning('pve.access: the cached binary %s was refused (%s) and is replaced; '
                                'it was not run' % (entry, why))
            self._install(local, entry)
        raise AssertionError('unreachable')

    def _install(self, local, entry):
        """Copy the binary to its cache entry as the connecting user, checked before it is renamed in place."""
        q = shlex.quote
        cache, name = entry.rsplit('/', 1)
        digest = entry.rsplit('-', 1)[1]
        tmp = '%s/.%s.%s' % (cache, name, os.getpid())
        # The entry itself is replaced by the rename, atomically: a task of
        # another host running it at the same moment is not disturbed.
        prepare = 'umask 022 && mkdir -p %(c)s && chmod 0755 %(c)s && rm -f %(t)s' % dict(c=q(cache), t=q(tmp))
        self._checked(prepare, 'prepare the cache directory %s' % cache)
        display.vvv('pve.access: copying %s to %s' % (local, entry))
        self._connection.put_file(local, tmp)
        finish = ('chmod 0555 %(t)s && set -- $(sha256sum %(t)s) && [ "$1" = %(d)s ] && mv -f %(t)s %(e)s'
                  ' && for old in %(c)s/%(m)s-*; do [ "$old" = %(e)s ] || rm -f "$old"; done'
                  % dict(t=q(tmp), d=digest, e=q(entry), c=q(cache), m=q(self._leaf)))
        self._checked(finish, 'install %s' % entry, cleanup='rm -f %s' % q(tmp))

    def _checked(self, cmd, what, cleanup=None):
        res = self._low_level_execute_command(cmd, sudoable=False)
        if res['rc'] != 0:
            if cleanup:
                self._low_level_execute_command(cleanup, sudoable=False)
            raise AnsibleError('%s: cannot %s on the target: %s'
                               % (self._module, what, (res['stderr'] or res['stdout']).strip()))
