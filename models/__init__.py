"""Model conversion scripts and the manifest; weights never enter git."""
