# tests/clients/local.mk - included from Makefile.am; owned by the tests/clients work.
