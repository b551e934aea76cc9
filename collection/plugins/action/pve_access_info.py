# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Runs the pve_access_info binary: see plugins/plugin_utils/binary_module.py.
from __future__ import annotations

from ansible_collections.pve.access.plugins.plugin_utils.binary_module import BinaryModuleAction


class ActionModule(BinaryModuleAction):
    pass
