print("nomad-kubelet")
