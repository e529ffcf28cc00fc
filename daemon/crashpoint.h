/* Test-only fault injection. The daemon calls crashpoint() at the instants where a crash matters
 * for what it promises (after each spool append, before the state file's rename, after each
 * journal write, before the outbox is marked fed, between the etcd transactions of a leader's
 * commit with events split over several: "store-txn"). In inferwatchd it does nothing
 * (crashpoint.c); the test build tests/crash/inferwatchd-crashpoints links
 * tests/crash/crashpoint.c instead, which raises SIGKILL at the call that $INFERWATCH_CRASHPOINT
 * names. */
#pragma once

void crashpoint(const char *where);

/* Test-only failures, the same way: 0 in inferwatchd; in the test build a negative errno (-EIO)
 * at the calls of faultpoint(WHERE) that $INFERWATCH_FAULT names ("save": the write of
 * state.json, "sync": the sync of the webhook spools, "store": a leader's write to etcd, "load":
 * each page of a new leader's read of the state from etcd, "store-answer": etcd's answer to one
 * of a leader's transactions, lost after etcd applied it). */
int faultpoint(const char *where);

/* Test-only stalls: nothing in inferwatchd; in the test build a sleep at the calls of
 * pausepoint(WHERE) that $INFERWATCH_PAUSE=WHERE:MILLISECONDS names ("reload": a reload that
 * takes long, after reading the configuration). */
void pausepoint(const char *where);
