# tests/fuzz/local.mk - included from Makefile.am; owned by the tests/fuzz work.
