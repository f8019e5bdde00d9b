package dev.etcdlock;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** A child process's output, line by line as it comes, so that a test can wait for a line with a timeout. */
public final class ProcessLines {
    private ProcessLines() {
    }

    /**
     * The lines of {@code in}, read by a daemon thread until the stream ends. A blocking read cannot be given a
     * timeout, so the thread reads and the test polls the queue.
     */
    public static BlockingQueue<String> of(InputStream in, String threadName) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // the process ended or was killed: no more lines
            }
        }, threadName);
        reader.setDaemon(true);
        reader.start();
        return lines;
    }
}
