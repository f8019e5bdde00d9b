package dev.etcdlock.chaos.jepsen;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdLockException;
import dev.etcdlock.EtcdUnavailableException;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.Leadership;
import dev.etcdlock.LockHandle;
import dev.etcdlock.LockNotHeldException;
import dev.etcdlock.LockTimeoutException;
import dev.etcdlock.Session;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RangeResponse;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One client of the safety check, in its own JVM so that it can be frozen with SIGSTOP or killed with SIGKILL. One
 * thread per {@link Workload}, each with its own session of the one client. The mutex thread loops: take the lock,
 * read the counter, write counter + 1 in a Txn guarded by the lock, unlock; it never writes unguarded and it sends the
 * write even when it suspects the lock is gone, so that etcd's guard is what is tested. The semaphore and election
 * threads loop: take a permit or a term, hold it a few milliseconds, release it. Every step goes to the history file
 * before the next one starts (see {@link History}).
 *
 * <p>Two requests come from the nemesis as files: freeze yourself once you hold the mutex (SIGSTOP before the write),
 * and hold on until you hear of a loss (the nemesis then revokes the lease or deletes the key from outside and
 * measures how soon the holder knows).
 *
 * <p>Arguments: {@code endpoints(comma-separated) counterKey ttlSeconds workerId historyFile seconds}.
 */
public final class LockWorker {
    /**
     * How long a holder asked to wait for its loss waits before it says it never heard of one: longer than the
     * nemesis may take to strike (a read and a revoke of 10 s each at worst), so that it never strikes a hold that
     * was given up.
     */
    static final Duration STRIKE_WAIT = Duration.ofSeconds(30);

    private final EtcdLockClient client;
    private final Engine reader;
    private final String counterKey;
    private final Duration ttl;
    private final int worker;
    private final FileOutputStream history;
    private final Path dir;

    private LockWorker(List<String> endpoints, String counterKey, Duration ttl, int worker,
            FileOutputStream history, Path dir) {
        this.client = EtcdLockClient.builder().endpoints(endpoints).connectTimeout(Duration.ofSeconds(20))
                .requestTimeout(Duration.ofSeconds(4)).build();
        // the application's own access to the protected data: a separate connection, as a real service would have
        this.reader = Engine.connect(Engine.Settings.of(endpoints).withConnectTimeout(Duration.ofSeconds(20))
                .withRequestTimeout(Duration.ofSeconds(4)));
        this.counterKey = counterKey;
        this.ttl = ttl;
        this.worker = worker;
        this.history = history;
        this.dir = dir;
    }

    public static void main(String[] args) throws Exception {
        // never outlive the test: a worker whose parent died (a killed build) exits
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> System.exit(4)));
        List<String> endpoints = List.of(args[0].split(","));
        int worker = Integer.parseInt(args[3]);
        long deadline = System.nanoTime() + Duration.ofSeconds(Long.parseLong(args[5])).toNanos();
        try (FileOutputStream history = new FileOutputStream(args[4], true)) {
            LockWorker w = new LockWorker(endpoints, args[1], Duration.ofSeconds(Long.parseLong(args[2])), worker,
                    history, Path.of(args[4]).getParent());
            watchdog(deadline, Path.of(args[4]));
            List<Thread> threads = new ArrayList<>();
            for (Workload workload : Workload.values()) {
                Thread t = new Thread(() -> w.loop(workload, deadline), "jepsen-" + workload.tag());
                t.start();
                threads.add(t);
            }
            for (Thread t : threads) {
                t.join();
            }
            w.client.close();
            w.reader.close();
            ForkJoinPool.commonPool().awaitQuiescence(2, TimeUnit.SECONDS); // the last L lines, before the close
        }
        System.exit(0);
    }

    /**
     * A worker that has not ended 30 s after its deadline hangs: every call it makes is bounded. Its threads go to its
     * log, and it exits with 3, which the test reports.
     */
    private static void watchdog(long deadlineNanos, Path history) {
        Thread dog = new Thread(() -> {
            try {
                Thread.sleep(Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000) + 30_000);
            } catch (InterruptedException e) {
                return;
            }
            StringBuilder dump = new StringBuilder("worker hangs 30 s past its deadline (" + history + "):\n");
            Thread.getAllStackTraces().forEach((t, stack) -> {
                dump.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
                for (StackTraceElement e : stack) {
                    dump.append("    at ").append(e).append('\n');
                }
            });
            System.out.println(dump);
            System.out.flush();
            Runtime.getRuntime().halt(3);
        }, "jepsen-watchdog");
        dog.setDaemon(true);
        dog.start();
    }

    /** A held mutex, permit or term, whichever the workload takes. */
    private record Hold(LockHandle lock, Leadership term) {
        long token() {
            return lock != null ? lock.fencingToken() : term.fencingToken();
        }

        long revision() {
            return lock != null ? lock.acquiredRevision() : term.electedRevision();
        }

        String key() {
            return lock != null ? lock.key() : term.key();
        }

        boolean isHeld() {
            return lock != null ? lock.isHeld() : term.isHeld();
        }

        CompletableFuture<Void> lost() {
            return lock != null ? lock.lost() : term.lost();
        }

        void release() {
            if (lock != null) {
                lock.unlock();
            } else {
                term.resign();
            }
        }
    }

    private void loop(Workload workload, long deadline) {
        Session session = null;
        long op = 0;
        while (System.nanoTime() < deadline) {
            op++;
            boolean attempted = false;
            try {
                if (session == null || !session.isValid()) {
                    if (session != null) {
                        session.close();
                    }
                    session = null;
                    session = client.newSession(ttl);
                    record("S", session.leaseId(), now(), workload.tag());
                }
                record("W", op, workload.tag(), session.leaseId(), now());
                attempted = true;
                Hold hold;
                try {
                    hold = acquire(workload, session);
                } catch (LockTimeoutException e) {
                    end(op, workload, "timeout");
                    event(op, "timeout", workload.tag());
                    continue;
                }
                record("A", op, session.leaseId(), hold.token(), hold.revision(), now(), workload.tag());
                long heldOp = op;
                hold.lost().whenComplete((v, failure) -> {
                    if (failure != null) {
                        // after the future completed: isHeld() must say false by then
                        boolean held = hold.isHeld();
                        quietly(() -> record("L", heldOp, workload.tag(), rootCause(failure).getClass()
                                .getSimpleName(), held, now()));
                    }
                });
                String outcome;
                try {
                    if (!awaitStrikeIfAsked(workload, hold, op)) {
                        work(workload, hold, op);
                    }
                } finally {
                    record("U", op, workload.tag(), now(), hold.isHeld());
                    outcome = release(hold, op);
                }
                end(op, workload, outcome);
            } catch (LeaseLostException e) {
                endIfAttempted(attempted, op, workload, "lost");
                event(op, "lost", workload.tag());
            } catch (EtcdUnavailableException e) {
                endIfAttempted(attempted, op, workload, "unavailable");
                event(op, "unavailable", workload.tag() + " " + e.getMessage());
                pause(); // test code: etcd is down, do not spin on it
            } catch (EtcdLockException e) {
                endIfAttempted(attempted, op, workload, e.getClass().getSimpleName());
                event(op, e.getClass().getSimpleName(), workload.tag() + " " + e.getMessage());
                pause();
            } catch (RuntimeException e) {
                // not part of the API's contract: recorded, and the run fails on it (History.errors)
                endIfAttempted(attempted, op, workload, "error");
                event(op, "error", workload.tag() + " " + e);
                pause();
            } catch (InterruptedException e) {
                endIfAttempted(attempted, op, workload, "interrupted");
                event(op, "error", workload.tag() + " interrupted");
                return;
            }
        }
        if (session != null) {
            try {
                session.close();
            } catch (EtcdLockException e) {
                event(op, "closefail", workload.tag() + " " + e.getMessage());
            }
        }
    }

    private Hold acquire(Workload workload, Session session) {
        Duration wait = Duration.ofSeconds(5);
        return switch (workload) {
            case MUTEX -> new Hold(session.mutex(workload.prefix).lock(wait), null);
            case SEMAPHORE -> new Hold(session.semaphore(workload.prefix, workload.holders).acquire(wait), null);
            case ELECTION -> new Hold(null, session.election(workload.prefix).campaign("worker-" + worker, wait));
        };
    }

    private void work(Workload workload, Hold hold, long op) throws InterruptedException {
        if (workload == Workload.MUTEX) {
            freezeIfAsked(op);
            incrementUnder(hold.lock(), op);
        } else {
            Thread.sleep(ThreadLocalRandom.current().nextInt(4)); // a permit or a term is held for some work
        }
    }

    /** The outcome of the attempt's release: released (our key deleted by us), notheld, or the failure's name. */
    private String release(Hold hold, long op) {
        try {
            hold.release();
            return "released";
        } catch (LockNotHeldException e) {
            return "notheld";
        } catch (EtcdLockException e) {
            event(op, "unlockfail", e.getClass().getSimpleName());
            return e.getClass().getSimpleName();
        }
    }

    /**
     * The nemesis asked this worker to hold on to its next {@code workload} hold until it hears of its loss: tell it
     * the key and lease (a file written whole, then renamed), then wait for lost() to fail. True when asked.
     */
    private boolean awaitStrikeIfAsked(Workload workload, Hold hold, long op) throws InterruptedException {
        if (!deleteIfExists(strikeRequest(dir, worker, workload))) {
            return false;
        }
        record("K", op, workload.tag(), now());
        Path ready = strikeTarget(dir, worker, workload);
        Path partial = ready.resolveSibling(ready.getFileName() + ".part");
        try {
            Files.writeString(partial, op + " " + hold.key());
            Files.move(partial, ready, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long deadline = System.nanoTime() + STRIKE_WAIT.toNanos();
        // isHeld() is what most holders look at: when it turns false is measured on its own, by looking often
        while (hold.isHeld() && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        if (!hold.isHeld()) {
            record("Q", op, workload.tag(), now());
        }
        try {
            hold.lost().get(Math.max(1, (deadline - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
            event(op, "strikeended", workload.tag() + " lost() completed normally");
        } catch (ExecutionException expected) {
            // the L line is written by the lost() callback
        } catch (TimeoutException e) {
            event(op, "strikeunheard", workload.tag() + " no loss in " + STRIKE_WAIT);
        }
        return true;
    }

    /**
     * The nemesis cannot time a SIGSTOP to land while a worker holds the lock (holds last milliseconds), so it leaves
     * a file asking for it and the worker stops itself right after acquiring, before its write.
     */
    private void freezeIfAsked(long op) throws InterruptedException {
        if (deleteIfExists(freezeRequest(dir, worker))) {
            record("P", op, now());
            try {
                new ProcessBuilder("kill", "-STOP", Long.toString(ProcessHandle.current().pid())).start().waitFor();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private void incrementUnder(LockHandle lock, long op) throws InterruptedException {
        long value;
        try {
            RangeResponse r = reader.kv().range(RangeRequest.newBuilder()
                    .setKey(ByteString.copyFromUtf8(counterKey)).build()).join();
            value = r.getKvsCount() == 0 ? 0 : Long.parseLong(r.getKvs(0).getValue().toStringUtf8());
        } catch (RuntimeException e) {
            event(op, "readfail", String.valueOf(e.getMessage()));
            return;
        }
        // a little work under the lock widens the window in which a second holder would show
        Thread.sleep(ThreadLocalRandom.current().nextInt(3));
        record("I", op, value + 1, lock.isHeld(), now());
        String outcome;
        try {
            // the marker tells after the run whether a write whose outcome was unknown was applied
            outcome = client.txn().ifHeld(lock).put(counterKey, Long.toString(value + 1))
                    .put(markerKey(counterKey, worker, op), Long.toString(value + 1)).commit() ? "ok" : "rejected";
        } catch (EtcdUnavailableException e) {
            outcome = e.isOutcomeUnknown() ? "unknown" : "failed";
        } catch (EtcdLockException e) {
            outcome = "failed"; // refused by etcd: nothing applied
        }
        record("R", op, outcome, now());
    }

    private void end(long op, Workload workload, String outcome) {
        record("X", op, workload.tag(), outcome, now());
    }

    private void endIfAttempted(boolean attempted, long op, Workload workload, String outcome) {
        if (attempted) {
            end(op, workload, outcome);
        }
    }

    private void event(long op, String kind, String detail) {
        record("E", op, kind, now(), detail.replace('\t', ' ').replace('\n', ' '));
    }

    private void record(String type, Object... fields) {
        StringBuilder line = new StringBuilder(type).append('\t').append(worker);
        for (Object f : fields) {
            line.append('\t').append(f);
        }
        byte[] bytes = line.append('\n').toString().getBytes(StandardCharsets.UTF_8);
        // one write() per line, unbuffered, one thread at a time: a SIGKILL can only cut the line being written
        synchronized (history) {
            try {
                history.write(bytes);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static void quietly(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            e.printStackTrace();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean deleteIfExists(Path p) {
        try {
            return Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Throwable rootCause(Throwable t) {
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static Path freezeRequest(Path dir, int worker) {
        return dir.resolve("freeze-" + worker);
    }

    /** The nemesis' request: hold on to the next hold of {@code workload} until it is lost. */
    static Path strikeRequest(Path dir, int worker, Workload workload) {
        return dir.resolve("strike-" + worker + "-" + workload.tag());
    }

    /** The worker's answer: the key it holds and waits to lose. */
    static Path strikeTarget(Path dir, int worker, Workload workload) {
        return dir.resolve("striking-" + worker + "-" + workload.tag());
    }

    static String markerKey(String counterKey, int worker, long op) {
        return counterKey + "/ops/" + worker + "-" + op;
    }

    /**
     * Microseconds on CLOCK_MONOTONIC (what {@code System.nanoTime()} reads on Linux), which every process of this
     * machine shares and which NTP cannot step: the checker compares times across the worker JVMs.
     */
    static long now() {
        return System.nanoTime() / 1000;
    }
}
