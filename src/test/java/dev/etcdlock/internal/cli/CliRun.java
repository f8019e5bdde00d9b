package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One in-process run of {@link Main#run}: exit code, what it printed, how long it took. */
public record CliRun(int code, String out, String err, long millis) {

    public static CliRun of(String... args) {
        return of(false, args);
    }

    /** As if run on a terminal ({@code terminal}) or with output to a pipe or file. */
    static CliRun of(boolean terminal, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), terminal);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        return new CliRun(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), millis);
    }

    /**
     * Runs {@code command args} and checks it is refused as a bad command line: exit 2, {@code message} on stderr,
     * quickly (no connection is tried).
     */
    static void assertBadArguments(String command, List<String> args, String message) {
        List<String> all = new ArrayList<>(List.of(command));
        all.addAll(args);
        CliRun run = of(all.toArray(String[]::new));
        assertEquals(2, run.code(), run::toString);
        assertTrue(run.err().contains(message), run::toString);
        assertTrue(run.millis() < 1000, run::toString);
    }

    /**
     * Starts {@link Main} with {@code args} in a JVM of its own, with this test JVM's class path, stderr to
     * {@code stderr}: for what only a real process shows (signals, shutdown hooks, output to a pipe).
     */
    static Process inItsOwnJvm(Path stderr, String... args) throws IOException {
        return inJvm(Path.of(System.getProperty("java.home")), stderr, args);
    }

    /** As {@link #inItsOwnJvm} with the Java installed at {@code javaHome}. */
    static Process inJvm(Path javaHome, Path stderr, String... args) throws IOException {
        return inJvm(javaHome, java.util.Map.of(), stderr, args);
    }

    /** As {@link #inItsOwnJvm}, with {@code env} added to this JVM's environment. */
    public static Process inItsOwnJvm(java.util.Map<String, String> env, Path stderr, String... args)
            throws IOException {
        return inJvm(Path.of(System.getProperty("java.home")), env, stderr, args);
    }

    private static Process inJvm(Path javaHome, java.util.Map<String, String> env, Path stderr, String... args)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(javaHome.resolve("bin").resolve("java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    /** The file's text, or why it could not be read: for failure messages. */
    static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public String toString() {
        return "exit " + code + " after " + millis + " ms\n--- out:\n" + out + "--- err:\n" + err;
    }
}
