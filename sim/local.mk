# sim/local.mk - included from Makefile.am; owned by the sim work.
