"""Verification tools shipped with the package (as LUNA ships its test utilities): the cocotb
stream testbench library (`stream`), the cocotb test modules that replay a case file on a
core (`replay`), and the cached cocotb runner for Verilator and Icarus (`runner`).

Nothing here is imported by `gen` itself, and importing `gen.testbench` or its runner needs
no cocotb; `stream` and `replay` run inside the simulator.
"""
