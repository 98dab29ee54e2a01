"""The WebAssembly binary format: reading, inspecting, verifying and executing modules."""
