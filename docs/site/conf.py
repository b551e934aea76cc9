# Sphinx configuration of the collection's docs site, built offline by
# scripts/build-docs.sh from the RST that antsibull-docs writes.
#
# The pages antsibull-docs writes link to the Ansible docs (common return
# values, configuration settings, ansible.builtin modules). Those are
# resolved here to their published addresses instead of through
# intersphinx, which would have to download the Ansible inventory: the site
# builds without a network, and warnings stay errors (-W) for everything
# else, so a broken reference of our own still fails the build.

project = "pve.access"
copyright = "pve.access developers"
title = "pve.access: Proxmox VE access control for Ansible"
html_short_title = "pve.access"

extensions = ["sphinx_antsibull_ext"]
pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
default_role = "any"
nitpicky = True

ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/latest/"

# Labels of the Ansible docs that antsibull-docs refers to, and their pages.
EXTERNAL_LABELS = {
    "common_return_values": "reference_appendices/common_return_values.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
    "action_plugins": "plugins/action.html",
}
BUILTIN_PREFIX = "ansible_collections.ansible.builtin."
EXTERNAL_ENVVARS = {"ANSIBLE_VAULT_PASSWORD_FILE": "reference_appendices/config.html"}


def _external_uri(node):
    target = node.get("reftarget", "")
    if node.get("reftype") == "envvar":
        page = EXTERNAL_ENVVARS.get(target)
        return page and ANSIBLE_DOCS + page + "#envvar-" + target.lower().replace("_", "-")
    if target in EXTERNAL_LABELS:
        return ANSIBLE_DOCS + EXTERNAL_LABELS[target]
    if target.startswith(BUILTIN_PREFIX):
        # ansible_collections.ansible.builtin.copy_module__parameter-decrypt
        plugin, _, anchor = target[len(BUILTIN_PREFIX):].partition("__")
        name, _, kind = plugin.rpartition("_")
        uri = f"{ANSIBLE_DOCS}collections/ansible/builtin/{name}_{kind}.html"
        return uri + (f"#{target.replace('_', '-').replace('.', '-')}" if anchor else "")
    return None


def _resolve_external(app, env, node, contnode):
    from docutils import nodes

    uri = _external_uri(node)
    if not uri:
        return None
    ref = nodes.reference("", "", internal=False, refuri=uri)
    ref.append(contnode)
    return ref


def setup(app):
    app.connect("missing-reference", _resolve_external)
