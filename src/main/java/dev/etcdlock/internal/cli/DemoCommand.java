package dev.etcdlock.internal.cli;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Mutex;
import dev.etcdlock.Session;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.RangeRequest;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Two instances of an app, each with its own client and session, take turns on one lock; the second waits for the
 * first, and its fencing token is larger, so a store that remembers the largest token refuses the first's late
 * write.
 */
final class DemoCommand {
    static final String LOCK = "/my-app/locks/config-update";

    static final String USAGE = """
            usage: java -jar etcd-lock.jar demo [--endpoints a,b,c] [connection options]

            Two app instances (two clients, two sessions) share the lock %s: app-1 holds it while it
            writes the config; app-2 waits (deadline 10 s) and goes next, with a larger fencing token. Prints the
            timeline, then checks that no key is left under the lock.

            options:
              --endpoints a,b,c   etcd client URLs (default: $ETCDCTL_ENDPOINTS, $ETCD_ENDPOINTS, else a
                                  throwaway local etcd); without a scheme: http://, or https:// with the TLS
                                  flags, as etcdctl
            %s
              -h, --help          this text""".formatted(LOCK, Connection.HELP);

    private final PrintStream out;
    private final long t0 = System.nanoTime();

    private DemoCommand(PrintStream out) {
        this.out = out;
    }

    static int run(Options options, PrintStream out) throws Exception {
        if (options.help()) {
            out.println(USAGE);
            return 0;
        }
        try (EtcdTarget target = EtcdTarget.of(options, out)) {
            return new DemoCommand(out).run(target);
        }
    }

    private int run(EtcdTarget target) throws Exception {
        List<String> endpoints = target.endpoints();
        FencedConfig config = new FencedConfig();
        try (EtcdLockClient client1 = target.clientBuilder().build();
             EtcdLockClient client2 = target.clientBuilder().build();
             Session app1 = client1.newSession();
             Session app2 = client2.newSession()) {
            log("", "etcd " + client1.serverVersion() + " at " + endpoints + "; lock " + LOCK);

            LockHandle lock1 = app1.mutex(LOCK).lock(Duration.ofSeconds(10));
            log("app-1", "acquired " + lock1.key() + ", fencing token " + lock1.fencingToken());

            Mutex mutex2 = app2.mutex(LOCK);
            CompletableFuture<LockHandle> app2Lock = new CompletableFuture<>();
            Thread app2Thread = new Thread(() -> {
                log("app-2", "lock() with a 10 s deadline: waiting for app-1");
                long start = System.nanoTime();
                try {
                    LockHandle lock2 = mutex2.lock(Duration.ofSeconds(10));
                    log("app-2", "acquired " + lock2.key() + ", fencing token " + lock2.fencingToken()
                            + ", after waiting " + (System.nanoTime() - start) / 1_000_000 + " ms");
                    app2Lock.complete(lock2);
                } catch (RuntimeException e) {
                    app2Lock.completeExceptionally(e);
                }
            }, "app-2");
            app2Thread.start();

            // app-1 works for a second while holding the lock: app-2 must still be waiting at the end of it.
            try {
                app2Lock.get(1, TimeUnit.SECONDS);
                log("app-1", "FAILED: app-2 got the lock while app-1 held it");
                return 1;
            } catch (TimeoutException stillWaiting) {
                log("app-1", "1 s later app-2 is still waiting; writing the config: "
                        + config.write("v1 by app-1", lock1.fencingToken()));
            } catch (ExecutionException e) {
                log("app-2", "FAILED: " + e.getCause().getMessage());
                return 1;
            }
            log("app-1", "unlock()");
            lock1.unlock();

            LockHandle lock2;
            try {
                lock2 = app2Lock.get(15, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                log("app-2", "FAILED: " + e.getCause().getMessage());
                return 1;
            }
            log("app-2", "writing the config: " + config.write("v2 by app-2", lock2.fencingToken()));
            log("app-1", "a late write with app-1's old token: " + config.write("stale by app-1",
                    lock1.fencingToken()));
            lock2.unlock();
            log("app-2", "unlock()");

            long left = keysUnder(target, LOCK + "/");
            log("", "fencing tokens: app-1 " + lock1.fencingToken() + " < app-2 " + lock2.fencingToken() + ": "
                    + (lock1.fencingToken() < lock2.fencingToken() ? "yes" : "NO"));
            log("", "keys left under " + LOCK + "/: " + left);
            boolean ok = left == 0 && lock1.fencingToken() < lock2.fencingToken();
            log("", ok ? "OK" : "FAILED");
            return ok ? 0 : 1;
        }
    }

    /** The resource the lock protects: it refuses writes with a fencing token older than the newest it has seen. */
    private static final class FencedConfig {
        private long newestToken;
        private String value;

        synchronized String write(String newValue, long token) {
            if (token < newestToken) {
                return "REFUSED (token " + token + " < " + newestToken + "), config stays \"" + value + "\"";
            }
            newestToken = token;
            value = newValue;
            return "accepted \"" + newValue + "\" (token " + token + ")";
        }
    }

    private synchronized void log(String who, String what) {
        out.printf("%6d ms  %-5s  %s%n", (System.nanoTime() - t0) / 1_000_000, who, what);
    }

    private static long keysUnder(EtcdTarget target, String prefix) {
        try (Engine engine = Engine.connect(target.settings())) {
            ByteString p = ByteString.copyFromUtf8(prefix);
            return engine.kv().range(RangeRequest.newBuilder().setKey(p).setRangeEnd(Kv.prefixEnd(p))
                    .setCountOnly(true).build()).join().getCount();
        }
    }
}
