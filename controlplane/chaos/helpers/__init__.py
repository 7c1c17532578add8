"""Helper processes that carry a fault for its duration and then stop by themselves.

Each runs in the fault's directory under the cluster's state directory, so `cluster down`
(and `chaos recover`) find and stop them even if the control plane crashed.
"""
