"""End-to-end tests of coursegen-status through real nginx, FastCGI workers and PostgreSQL.

Run with tests/run-e2e (or `python3 -m unittest discover -s tests/e2e -t tests -v` with
tests/ on PYTHONPATH). Modules run in file-name order; test_99_secrets.py must run last.
"""
