"""The replay engines behind one client seam (DESIGN.md "Seams"): one module per protocol, each turning a
scenario's turns into API requests and its answers into the one transcript shape (`base.py` says what an
engine offers; `play.py` uses only that)."""
