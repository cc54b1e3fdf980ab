"""Operating tpd: logging, Prometheus metrics and the health endpoints."""
