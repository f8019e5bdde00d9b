package dev.etcdlock.chaos.jepsen;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdLockException;
import dev.etcdlock.EtcdUnavailableException;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.LockHandle;
import dev.etcdlock.LockTimeoutException;
import dev.etcdlock.Session;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RangeResponse;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One client of the safety check, in its own JVM so that it can be frozen with SIGSTOP or killed with SIGKILL. It
 * loops: take the lock, read the counter, write counter + 1 in a Txn guarded by the lock, unlock; it never writes
 * unguarded and it sends the write even when it suspects the lock is gone, so that etcd's guard is what is tested.
 * Every step goes to the history file before the next one starts (see {@link History}).
 *
 * <p>Arguments: {@code endpoints(comma-separated) lockName counterKey ttlSeconds workerId historyFile seconds}.
 */
public final class LockWorker {
    private final EtcdLockClient client;
    private final Engine reader;
    private final String lockName;
    private final String counterKey;
    private final Duration ttl;
    private final int worker;
    private final FileOutputStream history;
    private final Path freezeRequest;
    private Session session;

    private LockWorker(List<String> endpoints, String lockName, String counterKey, Duration ttl, int worker,
            FileOutputStream history, Path freezeRequest) {
        this.client = EtcdLockClient.builder().endpoints(endpoints).connectTimeout(Duration.ofSeconds(20))
                .requestTimeout(Duration.ofSeconds(4)).build();
        // the application's own access to the protected data: a separate connection, as a real service would have
        this.reader = Engine.connect(Engine.Settings.of(endpoints).withConnectTimeout(Duration.ofSeconds(20))
                .withRequestTimeout(Duration.ofSeconds(4)));
        this.lockName = lockName;
        this.counterKey = counterKey;
        this.ttl = ttl;
        this.worker = worker;
        this.history = history;
        this.freezeRequest = freezeRequest;
    }

    public static void main(String[] args) throws Exception {
        // never outlive the test: a worker whose parent died (a killed build) exits
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> System.exit(4)));
        List<String> endpoints = List.of(args[0].split(","));
        int worker = Integer.parseInt(args[4]);
        long deadline = System.nanoTime() + Duration.ofSeconds(Long.parseLong(args[6])).toNanos();
        try (FileOutputStream history = new FileOutputStream(args[5], true)) {
            LockWorker w = new LockWorker(endpoints, args[1], args[2], Duration.ofSeconds(Long.parseLong(args[3])),
                    worker, history, freezeRequest(Path.of(args[5]).getParent(), worker));
            w.run(deadline);
            w.client.close();
            w.reader.close();
        }
        System.exit(0);
    }

    private void run(long deadline) throws IOException, InterruptedException {
        long op = 0;
        while (System.nanoTime() < deadline) {
            op++;
            try {
                if (session == null || !session.isValid()) {
                    if (session != null) {
                        session.close();
                    }
                    session = null;
                    session = client.newSession(ttl);
                    record("S", session.leaseId(), now());
                }
                LockHandle lock;
                try {
                    lock = session.mutex(lockName).lock(Duration.ofSeconds(5));
                } catch (LockTimeoutException e) {
                    event(op, "timeout", "");
                    continue;
                }
                record("A", op, session.leaseId(), lock.fencingToken(), lock.acquiredRevision(), now());
                freezeIfAsked(op);
                try {
                    incrementUnder(lock, op);
                } finally {
                    try {
                        lock.unlock();
                    } catch (EtcdLockException e) {
                        event(op, "unlockfail", e.getClass().getSimpleName());
                    }
                }
            } catch (LeaseLostException e) {
                event(op, "lost", "");
            } catch (EtcdUnavailableException e) {
                event(op, "unavailable", String.valueOf(e.getMessage()));
                Thread.sleep(100); // test code: etcd is down, do not spin on it
            } catch (EtcdLockException e) {
                event(op, e.getClass().getSimpleName(), String.valueOf(e.getMessage()));
                Thread.sleep(100);
            } catch (RuntimeException e) {
                // not part of the API's contract: recorded, and the run fails on it (History.errors)
                event(op, "error", e.toString());
                Thread.sleep(100);
            }
        }
        if (session != null) {
            session.close();
        }
    }

    /**
     * The nemesis cannot time a SIGSTOP to land while a worker holds the lock (holds last milliseconds), so it leaves
     * a file asking for it and the worker stops itself right after acquiring, before its write.
     */
    private void freezeIfAsked(long op) throws IOException, InterruptedException {
        if (Files.deleteIfExists(freezeRequest)) {
            record("P", op, now());
            new ProcessBuilder("kill", "-STOP", Long.toString(ProcessHandle.current().pid())).start().waitFor();
        }
    }

    private void incrementUnder(LockHandle lock, long op) throws IOException, InterruptedException {
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

    private void event(long op, String kind, String detail) throws IOException {
        record("E", op, kind, now(), detail.replace('\t', ' ').replace('\n', ' '));
    }

    private void record(String type, Object... fields) throws IOException {
        StringBuilder line = new StringBuilder(type).append('\t').append(worker);
        for (Object f : fields) {
            line.append('\t').append(f);
        }
        // one write() per line, unbuffered: a SIGKILL can only cut the line being written
        history.write(line.append('\n').toString().getBytes(StandardCharsets.UTF_8));
    }

    static Path freezeRequest(Path dir, int worker) {
        return dir.resolve("freeze-" + worker);
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
