"""Stands in for ansible-test's pip bootstrap script.

ansible-test builds each sanity test's virtual environment empty and then
runs get-pip.py, which it downloads from ci-files.testing.ansible.com, a
host this build machine cannot reach; it takes the script from its cache
(~/.ansible/test/cache/get_pip_<version>.py) when one is there. run.sh puts
this file there, in an ansible-test home of its own: it installs the pip
that Python itself bundles (ensurepip, no network), then has that pip
install what the bootstrap was asked for (ansible-test's pinned pip) from
the package index pip is configured with, as `make venv` does.
"""

import subprocess
import sys

# In a process of its own: ensurepip turns off pip's configuration (the
# machine's index and certificates) in the environment of the process it runs in.
subprocess.check_call([sys.executable, "-m", "ensurepip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
