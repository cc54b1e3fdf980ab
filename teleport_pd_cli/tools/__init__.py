"""Operator tools built on the libraries and the policy: doctor, check-oncall, the demo."""
