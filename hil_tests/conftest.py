"""The HIL suite's fixtures come from the camdiag_hil plugin (host_tools/camdiag_host/
hil_plugin.py): `dut` (the board), `rig` (what acts on it), `hil_options`. The same tests
run on virtual boards (default) and on a bench: `make hil PORT=/dev/ttyACM0 RIG=manual`."""
