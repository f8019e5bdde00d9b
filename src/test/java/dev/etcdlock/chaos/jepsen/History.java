package dev.etcdlock.chaos.jepsen;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the workers did, read back from their history files. Each worker appends one line per step and flushes it
 * before the next step, so a worker killed with SIGKILL leaves a history that ends mid-operation; a write whose
 * result line is missing is treated as indeterminate, exactly like one that reported an unknown outcome.
 *
 * <p>Line formats (tab-separated, times in microseconds since the epoch, one clock shared by every process on this
 * machine):
 * <pre>
 * S worker lease micros workload               a session was opened with this lease
 * W worker op workload lease micros            an attempt starts: lock(), acquire() or campaign() is called
 * A worker op lease token acqRev micros workload   it returned: held
 * P worker op micros                           (mutex) froze itself while holding, on the nemesis' request
 * K worker op workload micros                  holds on until it hears of a loss, on the nemesis' request
 * I worker op value held micros                (mutex) about to send the guarded write of counter = value;
 *                                              held = isHeld()
 * R worker op outcome micros                   (mutex) the write's result: ok, rejected, unknown, failed
 * Q worker op workload micros                  (holding on) isHeld() was seen false
 * L worker op workload cause held micros       lost() completed exceptionally with cause; held = isHeld() then
 * U worker op workload micros held             about to release (unlock or resign); held = isHeld()
 * X worker op workload outcome micros          the attempt is over: released, notheld, timeout, lost, ...
 * E worker op kind micros detail               anything else: timeout, lost, unavailable, readfail, unlockfail
 * </pre>
 * A workload missing from a line is the mutex's (the lines of hand-made histories).
 */
final class History {
    /** One lock acquisition and, if it got that far, its guarded write. */
    static final class Op {
        final int worker;
        final long op;
        final Workload workload;
        long attemptMicros = -1;
        long lease;
        long token;
        long acquiredRevision;
        long acquiredMicros;
        long value = -1;
        boolean heldWhenSent;
        long sentMicros;
        String outcome; // null: intent written, result never recorded
        long resultMicros;
        long strikeMicros = -1;
        long lostMicros = -1;
        String lostCause;
        boolean heldWhenLost;
        long notHeldMicros = -1;
        long releaseMicros = -1;
        boolean heldAtRelease;
        String end; // null: the attempt never ended (its worker was killed, or it is frozen)
        long endMicros = -1;

        Op(int worker, long op, Workload workload) {
            this.worker = worker;
            this.op = op;
            this.workload = workload;
        }

        boolean acquired() {
            return token > 0;
        }

        /**
         * Held from lock() returning until the release began, certainly: the release deleted the key, which was
         * ours throughout (a create revision is never reused), no loss was reported, and isHeld() said true when
         * the release began (a worker frozen past its TTL, whose key etcd may have deleted, says false at once: its
         * lease's validity ran out, and a retried delete that finds the key gone counts as a release).
         */
        boolean cleanHold() {
            return acquired() && "released".equals(end) && lostMicros < 0 && releaseMicros > 0 && heldAtRelease;
        }

        boolean wrote() {
            return value >= 0;
        }

        boolean ok() {
            return "ok".equals(outcome);
        }

        /** The write's outcome was not known to the worker. */
        boolean indeterminate() {
            return wrote() && (outcome == null || "unknown".equals(outcome));
        }

        /** The marker key's suffix of a mutex write. */
        String id() {
            return worker + "-" + op;
        }

        @Override
        public String toString() {
            return (workload == Workload.MUTEX ? "" : workload.tag() + " ") + "worker " + worker + " op " + op
                    + " (lease " + Long.toHexString(lease) + ", token " + token
                    + ", acquired at " + acquiredMicros + ", value " + value + " sent at " + sentMicros + ", "
                    + (outcome == null ? "no result" : outcome) + ")";
        }
    }

    final Map<String, Op> ops = new LinkedHashMap<>();
    /** "worker-op" of every write whose marker key is in etcd after the run: certainly applied. */
    final java.util.Set<String> applied = new java.util.HashSet<>();
    /** Whether {@link #applied} was read from etcd (hand-made histories have no markers). */
    boolean markersKnown;
    final List<Long> leases = new ArrayList<>();
    final Map<String, Integer> events = new LinkedHashMap<>();

    static History read(Collection<Path> files) {
        History h = new History();
        for (Path f : files) {
            try {
                for (String line : Files.readAllLines(f)) {
                    h.add(line);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return h;
    }

    void add(String line) {
        String[] p = line.split("\t", -1);
        if (p.length < 4) {
            return; // a line cut short by SIGKILL
        }
        try {
            switch (p[0]) {
                case "S" -> leases.add(Long.parseLong(p[2]));
                case "W" -> {
                    if (p.length < 6) {
                        return;
                    }
                    Op o = op(p, p[3]);
                    o.lease = Long.parseLong(p[4]);
                    o.attemptMicros = Long.parseLong(p[5]);
                }
                case "A" -> {
                    if (p.length < 7) {
                        return;
                    }
                    Op o = op(p, p.length > 7 ? p[7] : null);
                    o.lease = Long.parseLong(p[3]);
                    o.token = Long.parseLong(p[4]);
                    o.acquiredRevision = Long.parseLong(p[5]);
                    o.acquiredMicros = Long.parseLong(p[6]);
                }
                case "I" -> {
                    if (p.length < 6) {
                        return;
                    }
                    Op o = op(p, null);
                    o.value = Long.parseLong(p[3]);
                    o.heldWhenSent = Boolean.parseBoolean(p[4]);
                    o.sentMicros = Long.parseLong(p[5]);
                }
                case "R" -> {
                    if (p.length < 5) {
                        return;
                    }
                    Op o = op(p, null);
                    o.outcome = p[3];
                    o.resultMicros = Long.parseLong(p[4]);
                }
                case "K" -> {
                    if (p.length < 5) {
                        return;
                    }
                    op(p, p[3]).strikeMicros = Long.parseLong(p[4]);
                }
                case "L" -> {
                    if (p.length < 7) {
                        return;
                    }
                    Op o = op(p, p[3]);
                    o.lostCause = p[4];
                    o.heldWhenLost = Boolean.parseBoolean(p[5]);
                    o.lostMicros = Long.parseLong(p[6]);
                }
                case "U" -> {
                    if (p.length < 6) {
                        return;
                    }
                    Op o = op(p, p[3]);
                    o.releaseMicros = Long.parseLong(p[4]);
                    o.heldAtRelease = Boolean.parseBoolean(p[5]);
                }
                case "Q" -> {
                    if (p.length < 5) {
                        return;
                    }
                    op(p, p[3]).notHeldMicros = Long.parseLong(p[4]);
                }
                case "X" -> {
                    if (p.length < 6) {
                        return;
                    }
                    Op o = op(p, p[3]);
                    o.end = p[4];
                    o.endMicros = Long.parseLong(p[5]);
                }
                case "E" -> events.merge(p[3], 1, Integer::sum);
                default -> {
                }
            }
        } catch (IllegalArgumentException cutShort) {
            // the last line of a killed worker (a number or a workload cut short)
        }
    }

    private Op op(String[] p, String workloadTag) {
        int worker = Integer.parseInt(p[1]);
        long op = Long.parseLong(p[2]);
        Workload workload = workloadTag == null ? Workload.MUTEX : Workload.ofTag(workloadTag);
        return ops.computeIfAbsent(worker + "/" + workload.tag() + "/" + op, k -> new Op(worker, op, workload));
    }

    List<Op> of(Workload workload) {
        return ops.values().stream().filter(o -> o.workload == workload).toList();
    }

    List<Op> acquisitions() {
        return ops.values().stream().filter(Op::acquired).toList();
    }

    List<Op> okWrites() {
        return ops.values().stream().filter(Op::ok).toList();
    }

    List<Op> indeterminateWrites() {
        return ops.values().stream().filter(Op::indeterminate).toList();
    }

    /** Writes that were applied though their worker could not know it (resolved from the marker keys). */
    List<Op> appliedInDoubt() {
        return ops.values().stream().filter(o -> o.indeterminate() && applied.contains(o.id())).toList();
    }

    long count(String outcome) {
        return ops.values().stream().filter(o -> outcome.equals(o.outcome)).count();
    }
}
