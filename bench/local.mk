# bench/local.mk - included from Makefile.am; owned by the bench work.
