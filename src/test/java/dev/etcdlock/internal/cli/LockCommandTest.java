package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.Await;
import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.Etcdctl;
import dev.etcdlock.LockHandle;
import dev.etcdlock.ProcessLines;
import dev.etcdlock.Session;
import dev.etcdlock.SharedEtcd;
import dev.etcdlock.internal.proto.KeyValue;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class LockCommandTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();

    @TempDir
    Path dir;

    @Test
    void commandRunsWithLockEnvironmentAndItsExitStatusIsPropagated() throws Exception {
        String name = "/cli-test/env";
        Path env = dir.resolve("env");
        Path seen = dir.resolve("seen.json");
        // The command records its environment and what etcd holds under the name while it runs.
        String script = "echo \"$ETCD_LOCK_KEY $ETCD_LOCK_REV $ETCD_LOCK_FENCE\" > \"$1\"; "
                + "ETCDCTL_API=3 etcdctl --endpoints=\"$3\" get --prefix \"$4/\" -w json > \"$2\"; exit 7";

        CliRun run = CliRun.of("lock", name, "--endpoints", etcd.endpoints(), "--ttl", "5s", "--",
                "sh", "-c", script, "sh", env.toString(), seen.toString(), etcd.endpoints(), name);

        assertEquals(7, run.code(), run::toString);
        String[] values = Files.readString(env).strip().split(" ");
        assertEquals(3, values.length, () -> "ETCD_LOCK_KEY/REV/FENCE: " + List.of(values));
        assertTrue(values[0].matches(java.util.regex.Pattern.quote(name) + "/[0-9a-f]+"), values[0]);
        assertTrue(Long.parseLong(values[1]) > 0, "ETCD_LOCK_REV " + values[1]);
        assertTrue(Long.parseLong(values[2]) > 0, "ETCD_LOCK_FENCE " + values[2]);
        assertTrue(Long.parseLong(values[1]) >= Long.parseLong(values[2]), "REV >= FENCE: " + List.of(values));
        // While the command ran, the key was there, attached to the lease its name says, created at FENCE.
        String json = Files.readString(seen);
        assertTrue(json.contains("\"count\":1"), json);
        String leaseHex = values[0].substring(name.length() + 1);
        assertTrue(json.contains("\"lease\":" + Long.parseUnsignedLong(leaseHex, 16)), json);
        assertTrue(json.contains("\"create_revision\":" + values[2]), json);
        assertEquals(List.of(), EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/"));
    }

    @Test
    void commandWithoutDoubleDashLikeEtcdctl() throws Exception {
        String name = "/cli-test/no-dashes";
        Path out = dir.resolve("out");
        CliRun run = CliRun.of("lock", "--endpoints=" + etcd.endpoints(), name, "--timeout=5s", "sh", "-c",
                "echo \"$ETCD_LOCK_KEY\" --ttl \"$0\" > \"$1\"", "x", out.toString());

        assertEquals(0, run.code(), run::toString);
        // Everything after the first word following the name belongs to the command, options-looking or not.
        assertTrue(Files.readString(out).matches(name + "/[0-9a-f]+ --ttl x\\s*"), Files.readString(out));
        assertEquals(List.of(), EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/"));
    }

    @Test
    void timesOutWhileAJavaMutexHoldsTheName() throws Exception {
        String name = "/cli-test/busy";
        Path ran = dir.resolve("ran");
        try (EtcdLockClient client = EtcdLockClient.connect(etcd.endpoints());
             Session session = client.newSession(Duration.ofSeconds(10));
             LockHandle held = session.mutex(name).lock(Duration.ofSeconds(5))) {
            CliRun run = CliRun.of("lock", name, "--endpoints", etcd.endpoints(), "--timeout", "500ms", "--",
                    "touch", ran.toString());

            System.out.println("lock --timeout 500ms while held: " + run);
            assertNotEquals(0, run.code(), run::toString);
            assertEquals(1, run.code(), run::toString);
            // 500 ms of waiting + connect and close
            assertTrue(run.millis() >= 450 && run.millis() < 1500, run::toString);
            assertTrue(run.err().contains("not acquired within 500 ms"), run::toString);
            assertFalse(Files.exists(ran), "the command must not run without the lock");
            assertEquals(List.of(held.key()), EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/"));
        }
        assertEquals(List.of(), EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/"));
    }

    static List<Arguments> badArguments() {
        return List.of(
                Arguments.of(List.of(), "missing lock name"),
                Arguments.of(List.of("--ttl", "5"), "missing lock name"),
                Arguments.of(List.of(""), "must not be empty"),
                Arguments.of(List.of("x", "--ttl", "0"), "--ttl must be positive, was 0"),
                Arguments.of(List.of("x", "--ttl", "-5"), "--ttl must be positive, was -5"),
                Arguments.of(List.of("x", "--ttl=soon"), "--ttl: 'soon' is not a duration"),
                Arguments.of(List.of("x", "--ttl", "9000000001"), "larger than etcd's maximum"),
                Arguments.of(List.of("x", "--timeout", "5q"), "--timeout: '5q' is not a duration"),
                Arguments.of(List.of("x", "--timeout", "0s"), "--timeout must be positive"),
                Arguments.of(List.of("x", "--timeout"), "--timeout needs a value"),
                Arguments.of(List.of("x", "--wait", "1s"), "unknown option '--wait'"),
                Arguments.of(List.of("x", "--endpoints", "http://127.0.0.1"), "has no port"));
    }

    @ParameterizedTest
    @MethodSource("badArguments")
    void badArgumentsExit2WithAMessage(List<String> args, String message) {
        CliRun.assertBadArguments("lock", args, message);
    }

    @Test
    void helpAndParsing() {
        CliRun help = CliRun.of("lock", "--help");
        assertEquals(0, help.code(), help::toString);
        assertTrue(help.out().startsWith("usage: java -jar etcd-lock.jar lock <name>"), help::toString);

        LockCommand.Config c = LockCommand.parse(new String[] {"n", "--ttl", "30", "--timeout", "1m30s", "ls"});
        assertEquals(Duration.ofSeconds(30), c.ttl());
        assertEquals(Duration.ofSeconds(90), c.timeout());
        assertEquals(List.of("ls"), c.command());
        assertEquals(LockCommand.DEFAULT_TTL, LockCommand.parse(new String[] {"n"}).ttl());
        assertEquals(null, LockCommand.parse(new String[] {"n"}).timeout());
        assertEquals(List.of("--help"), LockCommand.parse(new String[] {"n", "--", "--help"}).command());
        assertEquals("n", LockCommand.parse(new String[] {"--", "n", "ls", "-l"}).name());
        assertEquals(List.of("ls", "-l"), LockCommand.parse(new String[] {"--", "n", "ls", "-l"}).command());
        assertEquals(Duration.ofMillis(500), LockCommand.parse(new String[] {"n", "--ttl=500ms"}).ttl());
    }

    @Test
    void commandThatCannotRunExits127AndReleases() {
        String name = "/cli-test/no-such-command";
        CliRun run = CliRun.of("lock", name, "--endpoints", etcd.endpoints(), "--", "/no/such/command");
        assertEquals(127, run.code(), run::toString);
        assertTrue(run.err().contains("cannot run /no/such/command"), run::toString);
        assertEquals(List.of(), EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/"));
    }

    /**
     * The lease is revoked from outside while the command runs: the command gets SIGTERM, and lock exits 3 although
     * the command then exits 0.
     */
    @Test
    void lostLeaseTerminatesTheCommandAndExits3() throws Exception {
        String name = "/cli-test/lost";
        Path started = dir.resolve("started");
        Path terminated = dir.resolve("terminated");
        String script = "trap 'kill $!; echo TERM > \"$1\"; exit 0' TERM; sleep 30 & echo up > \"$0\"; wait";
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.of("lock", name,
                "--endpoints", etcd.endpoints(), "--ttl", "2", "--", "sh", "-c", script, started.toString(),
                terminated.toString()));
        try {
            Await.until(() -> Files.exists(started) || run.isDone(), Duration.ofSeconds(10));
            assertFalse(run.isDone(), () -> "lock ended early: " + run.join());
            List<KeyValue> keys = EtcdKeys.under(etcd.clientEndpoints(), name + "/");
            assertEquals(1, keys.size(), keys::toString);
            long revokedAt = System.nanoTime();
            Etcdctl.run(etcd.endpoints(), "lease", "revoke", Long.toHexString(keys.get(0).getLease()));

            CliRun result = run.get(10, TimeUnit.SECONDS);
            long detectMs = (System.nanoTime() - revokedAt) / 1_000_000;
            System.out.println("lock exited " + result.code() + " " + detectMs + " ms after the revoke:\n"
                    + result.err());
            assertEquals(3, result.code(), result::toString);
            assertEquals("TERM", Files.readString(terminated).strip(), "the command should have got SIGTERM");
            assertTrue(result.err().contains("lost lock " + name + "/"), result::toString);
            assertTrue(result.err().contains("sending it SIGTERM"), result::toString);
            // Noticed at the next keep-alive (every TTL/3).
            assertTrue(detectMs < 3000, "took " + detectMs + " ms to notice the revoked lease\n" + result);
            assertEquals(List.of(), EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/"));
        } finally {
            run.cancel(true);
        }
    }

    /** Without a command: prints the key, holds, and exits 3 when the lease is lost. */
    @Test
    void holdWithoutCommandEndsWhenTheLeaseIsLost() throws Exception {
        String name = "/cli-test/hold-lost";
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.of("lock", name,
                "--endpoints", etcd.endpoints(), "--ttl", "2"));
        try {
            Await.until(() -> !EtcdKeys.under(etcd.clientEndpoints(), name + "/").isEmpty() || run.isDone(),
                    Duration.ofSeconds(10));
            KeyValue kv = EtcdKeys.under(etcd.clientEndpoints(), name + "/").get(0);
            Etcdctl.run(etcd.endpoints(), "lease", "revoke", Long.toHexString(kv.getLease()));

            CliRun result = run.get(10, TimeUnit.SECONDS);
            assertEquals(3, result.code(), result::toString);
            assertEquals(kv.getKey().toStringUtf8(), result.out().strip(), "prints the key like etcdctl");
            assertTrue(result.err().contains("lost lock " + kv.getKey().toStringUtf8()), result::toString);
        } finally {
            run.cancel(true);
        }
    }

    /**
     * In its own JVM, without a command: prints the key and holds; SIGTERM runs the shutdown hook, which releases at
     * once (the TTL is 30 s, so only the release can explain the key being gone).
     */
    @Test
    void holdInItsOwnJvmReleasesOnSigterm() throws Exception {
        String name = "/cli-test/hold-sigterm";
        Process p = CliRun.inItsOwnJvm(dir.resolve("stderr"), "lock", name, "--endpoints", etcd.endpoints(),
                "--ttl", "30");
        try {
            String key = ProcessLines.of(p.getInputStream(), "lock-stdout").poll(20, TimeUnit.SECONDS);
            assertTrue(key != null, () -> "lock printed no key within 20 s; stderr: "
                    + CliRun.readQuietly(dir.resolve("stderr")));
            assertEquals(List.of(key), EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/"),
                    () -> "stderr: " + CliRun.readQuietly(dir.resolve("stderr")));

            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(10, TimeUnit.SECONDS), "lock did not exit on SIGTERM");
            assertEquals(143, p.exitValue(), () -> "stderr: " + CliRun.readQuietly(dir.resolve("stderr")));
            assertEquals(List.of(), EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/"));
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
