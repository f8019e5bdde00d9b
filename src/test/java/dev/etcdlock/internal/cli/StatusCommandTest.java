package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.Await;
import dev.etcdlock.EtcdKeys;
import dev.etcdlock.Etcdctl;
import dev.etcdlock.LockHandle;
import dev.etcdlock.ProcessLines;
import dev.etcdlock.ReadWriteLock;
import dev.etcdlock.Session;
import dev.etcdlock.SharedEtcd;
import dev.etcdlock.chaos.TcpProxy;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code status} against a real etcd, with holders and waiters of our Mutex, RW lock, semaphore and etcdctl lock. */
class StatusCommandTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single().withClient();

    @TempDir
    Path dir;

    /** A table row: POS ROLE KEY LEASE TTL TOKEN SINCE/WAITS-FOR [VALUE], columns two spaces or more apart. */
    record Row(String pos, String role, String key, String lease, String ttl, String token, String sinceOrWaits) {
        static List<Row> of(String table) {
            List<Row> rows = new ArrayList<>();
            String[] lines = table.split("\n");
            for (int i = 2; i < lines.length; i++) { // title, header
                String[] c = lines[i].split(" {2,}");
                rows.add(new Row(c[0], c[1], c[2], c[3], c[4], c[5], c[6]));
            }
            return rows;
        }
    }

    @Test
    void javaHolderAndTwoJavaWaitersInOrderWithTheirTokens() throws Exception {
        String name = "/status-test/java";
        try (Session s1 = etcd.client().newSession(Duration.ofSeconds(10));
             Session s2 = etcd.client().newSession(Duration.ofSeconds(20));
             Session s3 = etcd.client().newSession(Duration.ofSeconds(30))) {
            LockHandle held = s1.mutex(name).lock(Duration.ofSeconds(5));
            CompletableFuture<LockHandle> second = s2.mutex(name).lockAsync();
            Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2, Duration.ofSeconds(5));
            CompletableFuture<LockHandle> third = s3.mutex(name).lockAsync();
            Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 3, Duration.ofSeconds(5));
            List<KeyValue> keys = EtcdKeys.under(etcd.clientEndpoints(), name + "/");

            CliRun run = CliRun.of("status", name, "--endpoints", etcd.endpoints());
            System.out.println("status with a holder and two waiters:\n" + run.out());

            assertEquals(0, run.code(), run::toString);
            assertTrue(run.out().startsWith(name + ": held, 2 waiting; mutex/election layout"), run::toString);
            List<Row> rows = Row.of(run.out());
            assertEquals(3, rows.size(), run::toString);
            String k1 = name + "/" + Long.toHexString(s1.leaseId());
            String k2 = name + "/" + Long.toHexString(s2.leaseId());
            String k3 = name + "/" + Long.toHexString(s3.leaseId());
            assertEquals(new Row("-", "holder", k1, Long.toHexString(s1.leaseId()), rows.get(0).ttl(),
                    Long.toString(held.fencingToken()), "rev " + held.fencingToken() + " (at once)"), rows.get(0));
            assertEquals(new Row("1", "waiter", k2, Long.toHexString(s2.leaseId()), rows.get(1).ttl(),
                    Long.toString(createRevision(keys, k2)), k1), rows.get(1));
            assertEquals(new Row("2", "waiter", k3, Long.toHexString(s3.leaseId()), rows.get(2).ttl(),
                    Long.toString(createRevision(keys, k3)), k2), rows.get(2));
            // TTLs are the leases' own: at most their TTL, and kept alive, so not far below it
            assertTtl(rows.get(0).ttl(), 10);
            assertTtl(rows.get(1).ttl(), 20);
            assertTtl(rows.get(2).ttl(), 30);

            // The holder goes: the first waiter holds, since the revision that deleted the holder's key.
            held.unlock();
            LockHandle secondHeld = second.get(5, TimeUnit.SECONDS);
            CliRun json = CliRun.of("status", name, "--endpoints", etcd.endpoints(), "--json");
            System.out.println("status --json after the holder left:\n" + json.out());
            assertEquals(0, json.code(), json::toString);
            String out = json.out();
            assertTrue(out.contains("\"state\":\"held\""), out);
            Matcher holder = Pattern.compile("\\{\"key\":\"([^\"]+)\",\"role\":\"holder\",\"position\":0,"
                    + "\"lease\":\"([0-9a-f]+)\",\"ttl\":\\d+,\"token\":(\\d+),\"value\":\"[0-9a-f]*\","
                    + "\"heldSinceRevision\":(\\d+),\"heldSinceExact\":true").matcher(out);
            assertTrue(holder.find(), out);
            assertEquals(k2, holder.group(1));
            assertEquals(Long.toHexString(s2.leaseId()), holder.group(2));
            assertEquals(Long.toString(secondHeld.fencingToken()), holder.group(3));
            long since = Long.parseLong(holder.group(4));
            try (Engine admin = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
                assertEquals(1, keysAt(admin, k1, since - 1), "the old holder's key was there just before " + since);
                assertEquals(0, keysAt(admin, k1, since), "and was deleted at " + since);
            }
            assertTrue(since <= secondHeld.acquiredRevision(), out);
            assertTrue(out.contains("\"role\":\"waiter\",\"position\":1"), out);
            assertTrue(out.contains("\"waitsFor\":\"" + k2 + "\""), out);
            secondHeld.unlock();
            third.get(5, TimeUnit.SECONDS).unlock();
        }
    }

    @Test
    void holderSinceIsABoundOnceHistoryIsCompacted() throws Exception {
        String name = "/status-test/compacted";
        try (Session s1 = etcd.client().newSession(Duration.ofSeconds(10));
             Session s2 = etcd.client().newSession(Duration.ofSeconds(10));
             Engine admin = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
            LockHandle first = s1.mutex(name).lock(Duration.ofSeconds(5));
            CompletableFuture<LockHandle> second = s2.mutex(name).lockAsync();
            Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2, Duration.ofSeconds(5));
            first.unlock();
            LockHandle held = second.get(5, TimeUnit.SECONDS);
            long revision = admin.kv().put(PutRequest.newBuilder()
                    .setKey(ByteString.copyFromUtf8("/status-test/other")).build()).join().getHeader().getRevision();
            admin.kv().compact(revision).join();

            CliRun run = CliRun.of("status", name, "--endpoints", etcd.endpoints());
            System.out.println("status after compaction:\n" + run.out());
            assertEquals(0, run.code(), run::toString);
            // it came to hold before the compacted revision: all we can say honestly is "by then"
            assertEquals("rev <= " + revision + " (history compacted)", Row.of(run.out()).get(0).sinceOrWaits(),
                    run::toString);
            held.unlock();
        }
    }

    @Test
    void etcdctlLockHolderAndAJavaWaiter() throws Exception {
        Assumptions.assumeTrue(Etcdctl.available(), "etcdctl is not on the PATH");
        String name = "/status-test/etcdctl";
        Etcdctl.Running etcdctl = Etcdctl.start(etcd.endpoints(), "lock", name);
        try (Session waiter = etcd.client().newSession(Duration.ofSeconds(10))) {
            String etcdctlKey = etcdctl.line();
            CompletableFuture<LockHandle> java = waiter.mutex(name).lockAsync();
            Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2, Duration.ofSeconds(5));

            CliRun run = CliRun.of("status", name, "--endpoints", etcd.endpoints());
            System.out.println("status with an etcdctl holder:\n" + run.out());
            assertEquals(0, run.code(), run::toString);
            List<Row> rows = Row.of(run.out());
            assertEquals(2, rows.size(), run::toString);
            assertEquals("holder", rows.get(0).role());
            assertEquals(etcdctlKey, rows.get(0).key());
            assertEquals(etcdctlKey.substring(name.length() + 1), rows.get(0).lease(), "etcdctl's key is its lease");
            assertEquals("waiter", rows.get(1).role());
            assertEquals(name + "/" + Long.toHexString(waiter.leaseId()), rows.get(1).key());
            assertEquals(etcdctlKey, rows.get(1).sinceOrWaits(), "the Java waiter waits for etcdctl's key");
            assertFalse(java.isDone());

            etcdctl.process().destroy(); // etcdctl unlocks on SIGTERM
            java.get(5, TimeUnit.SECONDS).unlock();
        } finally {
            etcdctl.kill();
        }
    }

    @Test
    void readWriteLockReadersHoldTogetherAndSemaphoreHoldersAreItsPermits() throws Exception {
        String rw = "/status-test/rw";
        String sem = "/status-test/sem";
        try (Session r1 = etcd.client().newSession(Duration.ofSeconds(10));
             Session r2 = etcd.client().newSession(Duration.ofSeconds(10));
             Session w = etcd.client().newSession(Duration.ofSeconds(10))) {
            ReadWriteLock lock1 = r1.readWriteLock(rw);
            LockHandle read1 = lock1.readLock().lock(Duration.ofSeconds(5));
            LockHandle read2 = r2.readWriteLock(rw).readLock().lock(Duration.ofSeconds(5));
            CompletableFuture<LockHandle> write = w.readWriteLock(rw).writeLock().lockAsync();
            Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), rw + "/") == 3, Duration.ofSeconds(5));

            CliRun run = CliRun.of("status", rw, "--endpoints", etcd.endpoints());
            System.out.println("status of a read-write lock:\n" + run.out());
            assertTrue(run.out().startsWith(rw + ": held by 2, 1 waiting; read-write lock layout"), run::toString);
            assertTrue(run.out().contains("; layout seen from its /read/ and /write/ keys)\n"), run::toString);
            List<Row> rows = Row.of(run.out());
            assertEquals(List.of("holder (read)", "holder (read)", "waiter (write)"),
                    rows.stream().map(Row::role).toList(), run::toString);
            assertEquals(read2.key(), rows.get(2).sinceOrWaits(), "the writer waits for the last reader");
            read1.unlock();
            read2.unlock();
            write.get(5, TimeUnit.SECONDS).unlock();

            LockHandle p1 = r1.semaphore(sem, 2).acquire(Duration.ofSeconds(5));
            LockHandle p2 = r2.semaphore(sem, 2).acquire(Duration.ofSeconds(5));
            CompletableFuture<LockHandle> p3 = w.semaphore(sem, 2).acquireAsync();
            Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), sem + "/") == 3, Duration.ofSeconds(5));
            CliRun untold = CliRun.of("status", sem, "--endpoints", etcd.endpoints());
            System.out.println("status of a semaphore, not told:\n" + untold.out());
            // its keys could be election candidates that all proclaim "2": only a hint, no guess
            assertTrue(untold.out().startsWith(sem + ": held, 2 waiting; mutex/election layout (read at revision "),
                    untold::toString);
            assertTrue(untold.out().contains("; layout by default: all its keys hold 2; if it is a semaphore, give "
                    + "--permits 2)\n"), untold::toString);
            CliRun semRun = CliRun.of("status", sem, "--permits", "2", "--endpoints", etcd.endpoints());
            System.out.println("status of a semaphore:\n" + semRun.out());
            assertTrue(semRun.out().startsWith(sem + ": held by 2, 1 waiting; semaphore, 2 permits layout"),
                    semRun::toString);
            assertTrue(semRun.out().contains("; layout from --permits 2)\n"), semRun::toString);
            assertEquals(List.of("holder", "holder", "waiter"),
                    Row.of(semRun.out()).stream().map(Row::role).toList(), semRun::toString);
            assertEquals("1 of the 2 keys ahead to go", Row.of(semRun.out()).get(2).sinceOrWaits());
            p1.close();
            p2.close();
            p3.get(5, TimeUnit.SECONDS).close();
        }
    }

    @Test
    void freeLockSaysFreeAndExits0() {
        CliRun run = CliRun.of("status", "/status-test/nobody", "--endpoints", etcd.endpoints());
        assertEquals(0, run.code(), run::toString);
        assertTrue(run.out().startsWith("/status-test/nobody: free (no keys under /status-test/nobody/)"),
                run::toString);
        CliRun json = CliRun.of("status", "/status-test/nobody", "--endpoints=" + etcd.endpoints(), "--json");
        assertTrue(json.out().matches("\\{\"name\":\"/status-test/nobody\",\"revision\":\\d+,\"layout\":\"mutex\","
                + "\"permits\":1,\"layoutFrom\":\"by default: give --permits N for a semaphore\",\"state\":\"free\","
                + "\"keys\":\\[]}\\s*"), json::toString);
    }

    /**
     * {@code --watch} in its own JVM, output to a pipe: one line at start, then one per change; the holder's
     * release shows as the holder leaving and the waiter holding.
     */
    @Test
    void watchPrintsTheHolderChangeWhenTheHolderReleases() throws Exception {
        String name = "/status-test/watch";
        try (Session s1 = etcd.client().newSession(Duration.ofSeconds(10));
             Session s2 = etcd.client().newSession(Duration.ofSeconds(10))) {
            LockHandle held = s1.mutex(name).lock(Duration.ofSeconds(5));
            CompletableFuture<LockHandle> second = s2.mutex(name).lockAsync();
            Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2, Duration.ofSeconds(5));
            String k1 = held.key();
            String k2 = name + "/" + Long.toHexString(s2.leaseId());

            try (WatchProcess watch = new WatchProcess(name, etcd.endpoints())) {
                String first = watch.next(20);
                assertTrue(first != null && first.matches("rev \\d+: held by " + Pattern.quote(k1)
                        + " \\(token \\d+, ttl \\d+s\\); 1 waiting: " + Pattern.quote(k2)),
                        () -> watch.describe(first));

                long releasedAt = System.nanoTime();
                held.unlock();
                String change = watch.next(10);
                long ms = (System.nanoTime() - releasedAt) / 1_000_000;
                System.out.println("status --watch printed, " + ms + " ms after the unlock: " + change);
                assertTrue(change != null && change.contains("holder " + k1 + " left after holding >= ")
                        && change.contains(k2 + " holds (token ") && change.endsWith("0 waiting"),
                        () -> watch.describe(change));

                second.get(5, TimeUnit.SECONDS).unlock();
                String free = watch.next(10);
                assertTrue(free != null && free.matches("rev \\d+: holder " + Pattern.quote(k2)
                        + " left after holding \\d.* \\| free"), free);
                assertTrue(watch.process.isAlive(), "--watch goes on until stopped");
            }
        }
    }

    /**
     * The watch of {@code --watch} is cut off (its member refuses connections) while the holder changes and etcd
     * compacts past the change: when the watch comes back its events are gone, so status reads the state again and
     * still prints the holder change, and goes on watching.
     */
    @Test
    void watchSurvivesCompactionOfTheEventsItMissed() throws Exception {
        String name = "/status-test/watch-compacted";
        try (TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
             Session s1 = etcd.client().newSession(Duration.ofSeconds(10));
             Session s2 = etcd.client().newSession(Duration.ofSeconds(10));
             Engine admin = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
            LockHandle held = s1.mutex(name).lock(Duration.ofSeconds(5));
            CompletableFuture<LockHandle> second = s2.mutex(name).lockAsync();
            Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2, Duration.ofSeconds(5));
            String k2 = name + "/" + Long.toHexString(s2.leaseId());

            try (WatchProcess watch = new WatchProcess(name, proxy.endpoint())) {
                String first = watch.next(20);
                assertTrue(first != null && first.contains("held by " + held.key()), () -> watch.describe(first));

                proxy.refuse();
                held.unlock();
                LockHandle secondHeld = second.get(5, TimeUnit.SECONDS);
                long revision = admin.kv().put(PutRequest.newBuilder()
                        .setKey(ByteString.copyFromUtf8("/status-test/elsewhere")).build()).join().getHeader()
                        .getRevision();
                admin.kv().compact(revision).join();
                assertEquals(null, watch.lines.poll(300, TimeUnit.MILLISECONDS), "nothing can come while cut off");
                proxy.pass();

                String change = watch.next(15);
                System.out.println("status --watch after the compaction: " + change);
                assertTrue(change != null && change.contains("holder " + held.key() + " left")
                        && change.contains(k2 + " holds (token " + secondHeld.fencingToken() + ")"),
                        () -> watch.describe(change));

                secondHeld.unlock();
                String free = watch.next(10);
                assertTrue(free != null && free.endsWith("| free"), () -> watch.describe(free));
            }
        }
    }

    /**
     * A session unlocks and locks again while the watch is cut off and etcd compacts past it, so status reads only
     * the end state: the same key name with a new create revision. That is a new hold (a new fencing token), and
     * {@code --watch} says so.
     */
    @Test
    void watchReportsAHolderThatLockedAgainUnderTheSameKey() throws Exception {
        String name = "/status-test/watch-relock";
        try (TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
             Session s1 = etcd.client().newSession(Duration.ofSeconds(10));
             Engine admin = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()))) {
            LockHandle held = s1.mutex(name).lock(Duration.ofSeconds(5));
            try (WatchProcess watch = new WatchProcess(name, proxy.endpoint())) {
                String first = watch.next(20);
                assertTrue(first != null && first.contains("held by " + held.key() + " (token "
                        + held.fencingToken() + ","), () -> watch.describe(first));

                proxy.refuse();
                held.unlock();
                LockHandle again = s1.mutex(name).lock(Duration.ofSeconds(5));
                assertEquals(held.key(), again.key(), "the session's key name is the same");
                long revision = admin.kv().put(PutRequest.newBuilder()
                        .setKey(ByteString.copyFromUtf8("/status-test/elsewhere")).build()).join().getHeader()
                        .getRevision();
                admin.kv().compact(revision).join();
                proxy.pass();

                String change = watch.next(15);
                System.out.println("status --watch after a relock under the same key: " + change);
                assertTrue(change != null && change.contains("holder " + held.key() + " left")
                        && change.contains(again.key() + " holds (token " + again.fencingToken() + ")"),
                        () -> watch.describe(change));
                again.unlock();
            }
        }
    }

    /** On a terminal, --watch redraws the whole table at each change; an interrupt (as Ctrl-C) ends it with 130. */
    @Test
    void watchOnATerminalRedrawsTheTable() throws Exception {
        String name = "/status-test/watch-tty";
        try (Session s1 = etcd.client().newSession(Duration.ofSeconds(10));
             Session s2 = etcd.client().newSession(Duration.ofSeconds(10))) {
            LockHandle held = s1.mutex(name).lock(Duration.ofSeconds(5));
            CompletableFuture<CliRun> result = new CompletableFuture<>();
            Thread watcher = new Thread(() -> result.complete(CliRun.of(true, "status", name, "--watch",
                    "--endpoints", etcd.endpoints())), "status-watch");
            watcher.start();
            try {
                Thread.sleep(1000); // connected and watching: a local etcd answers in milliseconds
                CompletableFuture<LockHandle> second = s2.mutex(name).lockAsync(); // a change: a waiter joins
                Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2, Duration.ofSeconds(5));
                held.unlock();
                second.get(5, TimeUnit.SECONDS).unlock();
                Thread.sleep(500);
                assertFalse(result.isDone(), () -> "--watch ended by itself: " + result.join());
            } finally {
                watcher.interrupt();
            }
            CliRun run = result.get(10, TimeUnit.SECONDS);
            System.out.println("status --watch on a terminal:\n" + run.out().replace("\033", "<ESC>"));
            assertEquals(130, run.code(), run::toString);
            String[] screens = run.out().split("\033\\[H\033\\[2J", -1);
            assertEquals("", screens[0], "every screen starts by clearing: " + run);
            assertTrue(screens.length >= 3, "the first table and at least two redraws: " + run);
            assertTrue(screens[1].startsWith(name + ": held, 0 waiting") && screens[1].contains(held.key()),
                    screens[1]);
            String last = screens[screens.length - 1];
            assertTrue(last.startsWith(name + ": free"), last);
            // the second's turn may fall between two reads (cues that come during a read are taken together):
            // then one change tells of both leaving
            String k2 = name + "/" + Long.toHexString(s2.leaseId());
            assertTrue(last.contains("last change: holder " + k2 + " left")
                    || last.contains("last change: holder " + held.key() + " left after holding >= ")
                    && last.contains("waiter " + k2 + " left"), last);
            assertTrue(last.endsWith("watching " + name + "/ (Ctrl-C to stop)\n"), last);
        }
    }

    static List<Arguments> badArguments() {
        return List.of(
                Arguments.of(List.of(), "missing lock name"),
                Arguments.of(List.of(""), "the lock name must not be empty"),
                Arguments.of(List.of("x", "--wach"), "unknown option '--wach' (see status --help)"),
                Arguments.of(List.of("x", "y"), "status takes one lock name, got 'x' and 'y'"),
                Arguments.of(List.of("x", "--endpoints"), "--endpoints needs a value"),
                Arguments.of(List.of("x", "--cert", "c.pem"), "--cert needs --key"),
                Arguments.of(List.of("x", "--layout", "queue"), "--layout must be mutex, election, semaphore or "
                        + "rwlock, was 'queue'"),
                Arguments.of(List.of("x", "--permits", "0"), "--permits must be a whole number from 1 to"),
                Arguments.of(List.of("x", "--permits=two"), "--permits must be a whole number from 1 to"),
                Arguments.of(List.of("x", "--permits", "2", "--layout", "rwlock"), "--permits is for a semaphore, "
                        + "but --layout says rwlock"));
    }

    @ParameterizedTest
    @MethodSource("badArguments")
    void badArgumentsExit2WithAMessage(List<String> args, String message) {
        CliRun.assertBadArguments("status", args, message);
    }

    @Test
    void helpTellsTheOptions() {
        CliRun help = CliRun.of("status", "--help");
        assertEquals(0, help.code(), help::toString);
        assertTrue(help.out().startsWith("usage: java -jar etcd-lock.jar status <name>"), help::toString);
        assertTrue(CliRun.of("--help").out().contains("status <name> [--watch] [--json]"));
    }

    private static int keysAt(Engine engine, String key, long revision) {
        return engine.kv().range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).setRevision(revision)
                .build()).join().getKvsCount();
    }

    private static long createRevision(List<KeyValue> keys, String key) {
        return keys.stream().filter(kv -> kv.getKey().toStringUtf8().equals(key)).findFirst().orElseThrow()
                .getCreateRevision();
    }

    private static void assertTtl(String shown, int ttl) {
        assertTrue(shown.matches("\\d+s"), shown);
        int left = Integer.parseInt(shown.substring(0, shown.length() - 1));
        assertTrue(left <= ttl && left >= ttl - ttl / 3 - 2, "TTL left " + shown + " of " + ttl + " s");
    }

    /** {@code status <name> --watch} in a JVM of its own, its output to a pipe, read line by line. */
    private final class WatchProcess implements AutoCloseable {
        final Process process;
        final BlockingQueue<String> lines;

        WatchProcess(String name, String endpoints) throws IOException {
            process = CliRun.inItsOwnJvm(dir.resolve("stderr"), "status", name, "--watch", "--endpoints", endpoints);
            lines = ProcessLines.of(process.getInputStream(), "status-watch-reader");
        }

        /** The next line it prints, or null when none comes within {@code seconds}. */
        String next(int seconds) throws InterruptedException {
            return lines.poll(seconds, TimeUnit.SECONDS);
        }

        /** For failure messages: the line, and what the process wrote to stderr. */
        String describe(String line) {
            return line + " " + CliRun.readQuietly(dir.resolve("stderr"));
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
