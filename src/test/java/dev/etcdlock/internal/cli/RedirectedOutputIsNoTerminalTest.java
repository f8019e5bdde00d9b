package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import dev.etcdlock.SharedEtcd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * On Java 22 to 24 {@code System.console()} is not null with output redirected; the CLI must still see no terminal
 * there, or it writes progress lines and screen escapes into files and pipes. Java 25 returns null again when
 * redirected (checked on Temurin 25.0.3), so the JVM test below catches the bug only where a JDK 22-24 is found.
 */
class RedirectedOutputIsNoTerminalTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single().withClient();

    @TempDir
    Path dir;

    @Test
    void noConsoleIsNoTerminal() {
        assertFalse(Main.isTerminal(null));
    }

    /** {@code lock --wait-progress} in a Java 22+ JVM, stdout and stderr redirected: no progress line. */
    @Test
    void waitProgressIsSilentWhenRedirectedOnJava22AndLater() throws Exception {
        Optional<Path> java22 = javaAtLeast(22);
        Assumptions.assumeTrue(java22.isPresent(), "no Java 22 or later installed beside " + javaHome());
        String name = "/terminal-test/redirected";
        try (Session holder = etcd.client().newSession(Duration.ofSeconds(10))) {
            LockHandle held = holder.mutex(name).lock(Duration.ofSeconds(5));
            Path stderr = dir.resolve("stderr");
            Process p = CliRun.inJvm(java22.get(), stderr, "lock", name, "--endpoints", etcd.endpoints(),
                    "--wait-progress", "--timeout", "2s", "--", "true");
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "lock --timeout 2s did not end");
            held.unlock();
            String err = Files.readString(stderr);
            System.out.println("lock --wait-progress on " + java22.get() + ", redirected, wrote to stderr: "
                    + err.replace("\r", "\\r").replace("\n", "\\n"));
            assertEquals(LockCommand.EXIT_NOT_ACQUIRED, p.exitValue(), err);
            assertTrue(err.contains("etcd-lock: lock " + name + " is held by someone else"), err);
            // the JVM's own warnings (restricted methods, SLF4J) may come too: look for the progress line only
            assertFalse(err.contains("waiting for " + name) || err.contains("\r"),
                    "a progress line in redirected output: " + err.replace("\r", "\\r"));
        }
    }

    private static Path javaHome() {
        return Path.of(System.getProperty("java.home"));
    }

    /** This JVM's home if its feature version is {@code feature} or later, else such a JDK beside it. */
    private static Optional<Path> javaAtLeast(int feature) throws IOException {
        if (Runtime.version().feature() >= feature) {
            return Optional.of(javaHome());
        }
        Path jvms = javaHome().toRealPath().getParent();
        try (Stream<Path> homes = Files.list(jvms)) {
            return homes.filter(h -> version(h) >= feature && Files.isExecutable(h.resolve("bin/java")))
                    .max(Comparator.comparingInt(RedirectedOutputIsNoTerminalTest::version));
        }
    }

    /** The feature version in a JDK's {@code release} file, 0 when there is none. */
    private static int version(Path home) {
        try {
            Matcher m = Pattern.compile("JAVA_VERSION=\"(\\d+)").matcher(Files.readString(home.resolve("release")));
            return m.find() ? Integer.parseInt(m.group(1)) : 0;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
