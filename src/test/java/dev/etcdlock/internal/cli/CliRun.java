package dev.etcdlock.internal.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** One in-process run of {@link Main#run}: exit code, what it printed, how long it took. */
record CliRun(int code, String out, String err, long millis) {

    static CliRun of(String... args) {
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

    @Override
    public String toString() {
        return "exit " + code + " after " + millis + " ms\n--- out:\n" + out + "--- err:\n" + err;
    }
}
