package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * etcd's own command line client, run against a test's etcd to check that we interoperate with Go's recipes and to
 * change etcd from outside (revoke a lease, set up users). Tests that need it say so with
 * {@code @EnabledIf(value = "dev.etcdlock.Etcdctl#available", disabledReason = "etcdctl is not on the PATH")} or
 * {@code Assumptions.assumeTrue(Etcdctl.available(), ...)}.
 */
public final class Etcdctl {
    private Etcdctl() {
    }

    /** Whether {@code etcdctl version} runs. */
    public static boolean available() {
        try {
            Process p = new ProcessBuilder("etcdctl", "version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /**
     * Runs {@code etcdctl --endpoints=<endpoints> <args>} to its end and returns what it printed (stdout and stderr).
     * Fails the test unless it exits 0.
     */
    public static String run(String endpoints, String... args) throws IOException, InterruptedException {
        ProcessBuilder pb = builder(endpoints, args).redirectErrorStream(true);
        Process p = pb.start();
        try {
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), () -> String.join(" ", pb.command()) + " hangs");
            assertEquals(0, p.exitValue(), () -> String.join(" ", pb.command()) + ": " + output);
            return output;
        } finally {
            p.destroyForcibly();
        }
    }

    /** Starts {@code etcdctl --endpoints=<endpoints> <args>}; the test reads its stdout line by line. */
    public static Running start(String endpoints, String... args) throws IOException {
        return new Running(builder(endpoints, args).start());
    }

    private static ProcessBuilder builder(String endpoints, String... args) {
        List<String> cmd = new ArrayList<>(List.of("etcdctl", "--endpoints=" + endpoints));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("ETCDCTL_API", "3");
        return pb;
    }

    /** A running etcdctl: its stdout line by line, its stderr kept for failure messages. */
    public static final class Running {
        private final Process process;
        private final BlockingQueue<String> lines;
        /** Written by the stderr reader while toString() may read it: ByteArrayOutputStream is synchronized. */
        private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();

        private Running(Process process) {
            this.process = process;
            this.lines = ProcessLines.of(process.getInputStream(), "etcdctl-stdout");
            Thread errReader = new Thread(() -> copy(process.getErrorStream()), "etcdctl-stderr");
            errReader.setDaemon(true);
            errReader.start();
        }

        public Process process() {
            return process;
        }

        /** Its stdout, for tests that poll with their own timeout. */
        public BlockingQueue<String> lines() {
            return lines;
        }

        /** The next line it prints; fails the test when none comes within 10 s. */
        public String line() throws InterruptedException {
            String line = lines.poll(10, TimeUnit.SECONDS);
            assertTrue(line != null, () -> "etcdctl printed nothing more: " + this);
            return line;
        }

        /** SIGTERM, which etcdctl traps to unlock or resign, then SIGKILL after 5 s; waits for it to end. */
        public void stop() throws InterruptedException {
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
            process.waitFor(10, TimeUnit.SECONDS);
        }

        /** SIGKILL: etcdctl cannot unlock, its lease lives on until its TTL; waits for it to end. */
        public void kill() throws InterruptedException {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
            process.waitFor(10, TimeUnit.SECONDS);
        }

        /** Whether it is still running or how it exited, and what it wrote to stderr. */
        @Override
        public String toString() {
            String state = process.isAlive() ? "(still running)" : "exit " + process.exitValue();
            return state + "\nstderr: " + stderr.toString(StandardCharsets.UTF_8);
        }

        private void copy(InputStream in) {
            byte[] buffer = new byte[4096];
            try (in) {
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    stderr.write(buffer, 0, n);
                }
            } catch (IOException e) {
                // the process ended or was killed: no more output
            }
        }
    }
}
