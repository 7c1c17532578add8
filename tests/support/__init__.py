"""Test helpers others may reuse: throwaway PostgreSQL, process groups, ports, OTLP receiver."""
