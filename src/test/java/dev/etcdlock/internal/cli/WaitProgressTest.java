package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.Await;
import dev.etcdlock.EtcdKeys;
import dev.etcdlock.Etcdctl;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import dev.etcdlock.SharedEtcd;
import dev.etcdlock.internal.proto.KeyValue;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code lock --wait-progress}: a line redrawn with {@code \r} on a terminal, nothing at all otherwise. */
class WaitProgressTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single().withClient();

    @Test
    void onATerminalTheLineShowsThePlaceInLineAndTheTimeWaited() throws Exception {
        String name = "/progress-test/tty";
        CliRun run = waitBehindAHolder(name, true);
        String holderKey = run.out(); // see waitBehindAHolder
        String err = run.err();
        System.out.println("lock --wait-progress on a terminal wrote to stderr: "
                + err.replace("\r", "\\r").replace("\n", "\\n"));

        assertEquals(0, run.code(), run::toString);
        Matcher waiting = Pattern.compile("\rwaiting for " + Pattern.quote(name) + ": position 1 \\(1 key ahead, "
                + "behind " + Pattern.quote(holderKey) + "\\), waited (\\d+) s").matcher(err);
        int lines = 0;
        long lastWaited = -1;
        while (waiting.find()) {
            lines++;
            long waited = Long.parseLong(waiting.group(1));
            assertTrue(waited >= lastWaited, "the time waited only grows: " + err);
            lastWaited = waited;
        }
        // held for 1.5 s: drawn when the place is known, then redrawn once a second for the time waited
        assertTrue(lines >= 2, "expected the line drawn and redrawn: " + err);
        assertTrue(lastWaited >= 1, err);
        assertTrue(err.matches("(?s).*\r" + Pattern.quote(name) + ": acquired after [0-9.]+ m?s *\n"),
                "ends with how long the wait was, on a line of its own: " + err);
        assertTrue(!err.contains("\n") || err.indexOf('\n') == err.length() - 1, "one line, redrawn: " + err);
    }

    /** The progress line is cleared before the timeout message, which so starts a line of its own. */
    @Test
    void theTimeoutMessageStartsOnALineOfItsOwn() throws Exception {
        String name = "/progress-test/timeout";
        try (Session holder = etcd.client().newSession(Duration.ofSeconds(10))) {
            LockHandle held = holder.mutex(name).lock(Duration.ofSeconds(5));
            CliRun run = CliRun.of(true, "lock", name, "--endpoints", etcd.endpoints(), "--wait-progress",
                    "--timeout", "2s", "--", "true");
            held.unlock();
            String err = run.err();
            System.out.println("lock --wait-progress --timeout 2s wrote to stderr: "
                    + err.replace("\r", "\\r").replace("\n", "\\n"));
            assertEquals(LockCommand.EXIT_NOT_ACQUIRED, run.code(), run::toString);
            int progress = err.indexOf("\rwaiting for " + name + ": position 1");
            int message = err.indexOf("etcd-lock: lock " + name + " is held by someone else");
            assertTrue(progress >= 0 && message > progress, "the line drawn, then the message: " + err);
            char before = err.charAt(message - 1);
            assertTrue(before == '\r' || before == '\n', "the message is glued to the progress line: "
                    + err.replace("\r", "\\r"));
            String lastDrawn = err.substring(err.lastIndexOf('\r', message - 2) + 1, message - 1);
            assertTrue(lastDrawn.isBlank(), "the progress line was cleared: " + err.replace("\r", "\\r"));
            assertTrue(err.endsWith("exits\n"), err);
        }
    }

    /** The waiter's lease is revoked from outside while the progress line shows: the message starts a line too. */
    @Test
    void theLeaseLostMessageStartsOnALineOfItsOwn() throws Exception {
        String name = "/progress-test/lost";
        try (Session holder = etcd.client().newSession(Duration.ofSeconds(10))) {
            LockHandle held = holder.mutex(name).lock(Duration.ofSeconds(5));
            CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.of(true, "lock", name,
                    "--endpoints", etcd.endpoints(), "--ttl", "2", "--wait-progress", "--timeout", "20s", "--",
                    "true"));
            try {
                Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2 || run.isDone(),
                        Duration.ofSeconds(10));
                Thread.sleep(1200); // the progress line drawn, and redrawn once
                assertFalse(run.isDone(), () -> "lock ended while the lock was held: " + run.join());
                KeyValue waiter = EtcdKeys.under(etcd.clientEndpoints(), name + "/").stream()
                        .filter(kv -> !kv.getKey().toStringUtf8().equals(held.key())).findFirst().orElseThrow();
                Etcdctl.run(etcd.endpoints(), "lease", "revoke", Long.toHexString(waiter.getLease()));
                CliRun result = run.get(10, TimeUnit.SECONDS);
                String err = result.err();
                System.out.println("lock --wait-progress, lease revoked while waiting, wrote to stderr: "
                        + err.replace("\r", "\\r").replace("\n", "\\n"));
                assertEquals(LockCommand.EXIT_LOST, result.code(), result::toString);
                int progress = err.indexOf("\rwaiting for " + name + ": position 1");
                int message = err.indexOf("etcd-lock: ");
                assertTrue(progress >= 0 && message > progress, "the line drawn, then the message: " + err);
                char before = err.charAt(message - 1);
                assertTrue(before == '\r' || before == '\n', "the message is glued to the progress line: "
                        + err.replace("\r", "\\r"));
                String lastDrawn = err.substring(err.lastIndexOf('\r', message - 2) + 1, message - 1);
                assertTrue(lastDrawn.isBlank(), "the progress line was cleared: " + err.replace("\r", "\\r"));
            } finally {
                run.cancel(true);
                held.unlock();
            }
        }
    }

    @Test
    void withoutATerminalNothingIsPrinted() throws Exception {
        CliRun run = waitBehindAHolder("/progress-test/pipe", false);
        assertEquals(0, run.code(), run::toString);
        assertEquals("", run.err(), run::toString);
    }

    /**
     * Runs {@code lock <name> --wait-progress -- true} while a Java session holds {@code name}, releasing after
     * 1.5 s. Returns the run with its stdout replaced by the holder's key.
     */
    private static CliRun waitBehindAHolder(String name, boolean terminal) throws Exception {
        try (Session holder = etcd.client().newSession(Duration.ofSeconds(10))) {
            LockHandle held = holder.mutex(name).lock(Duration.ofSeconds(5));
            CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.of(terminal, "lock", name,
                    "--endpoints", etcd.endpoints(), "--wait-progress", "--timeout", "20s", "--", "true"));
            try {
                Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2
                        || run.isDone(), Duration.ofSeconds(10));
                Thread.sleep(1500);
                assertTrue(!run.isDone(), () -> "lock ended while the lock was held: " + run.join());
                held.unlock();
                CliRun result = run.get(10, TimeUnit.SECONDS);
                assertEquals("", result.out(), result::toString);
                assertEquals(List.of(), EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/"));
                return new CliRun(result.code(), held.key(), result.err(), result.millis());
            } finally {
                run.cancel(true);
            }
        }
    }
}
