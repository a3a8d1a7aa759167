"""ODBench inside other evaluation frameworks (each an optional extra): `odbench.integrations.mteb`
is ODBench as an MTEB task."""
