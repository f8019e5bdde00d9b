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
 * S worker lease micros                     a session was opened with this lease
 * A worker op lease token acqRev micros     lock() returned
 * P worker op micros                        frozen itself while holding, on the nemesis' request
 * I worker op value held micros             about to send the guarded write of counter = value; held = isHeld()
 * R worker op outcome micros                the write's result: ok, rejected, unknown, failed
 * E worker op kind micros detail            anything else: timeout, lost, unavailable, readfail, unlockfail
 * </pre>
 */
final class History {
    /** One lock acquisition and, if it got that far, its guarded write. */
    static final class Op {
        final int worker;
        final long op;
        long lease;
        long token;
        long acquiredRevision;
        long acquiredMicros;
        long value = -1;
        boolean heldWhenSent;
        long sentMicros;
        String outcome; // null: intent written, result never recorded
        long resultMicros;

        Op(int worker, long op) {
            this.worker = worker;
            this.op = op;
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

        String id() {
            return worker + "-" + op;
        }

        @Override
        public String toString() {
            return "worker " + worker + " op " + op + " (lease " + Long.toHexString(lease) + ", token " + token
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
                case "A" -> {
                    if (p.length < 7) {
                        return;
                    }
                    Op o = op(p);
                    o.lease = Long.parseLong(p[3]);
                    o.token = Long.parseLong(p[4]);
                    o.acquiredRevision = Long.parseLong(p[5]);
                    o.acquiredMicros = Long.parseLong(p[6]);
                }
                case "I" -> {
                    if (p.length < 6) {
                        return;
                    }
                    Op o = op(p);
                    o.value = Long.parseLong(p[3]);
                    o.heldWhenSent = Boolean.parseBoolean(p[4]);
                    o.sentMicros = Long.parseLong(p[5]);
                }
                case "R" -> {
                    if (p.length < 5) {
                        return;
                    }
                    Op o = op(p);
                    o.outcome = p[3];
                    o.resultMicros = Long.parseLong(p[4]);
                }
                case "E" -> events.merge(p[3], 1, Integer::sum);
                default -> {
                }
            }
        } catch (NumberFormatException cutShort) {
            // the last line of a killed worker
        }
    }

    private Op op(String[] p) {
        int worker = Integer.parseInt(p[1]);
        long op = Long.parseLong(p[2]);
        return ops.computeIfAbsent(worker + "/" + op, k -> new Op(worker, op));
    }

    List<Op> acquisitions() {
        return ops.values().stream().filter(o -> o.token > 0).toList();
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
