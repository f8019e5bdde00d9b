package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.SharedEtcd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The demo inside a JFR recording: the file shows both acquisitions and releases with plausible fields. */
class DemoJfrRecordingTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();

    @Test
    void aRecordingOfTheDemoShowsTwoAcquisitionsAndReleases(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("demo.jfr");
        CliRun run;
        try (Recording recording = new Recording()) {
            for (String event : List.of("dev.etcdlock.LockAcquired", "dev.etcdlock.LockReleased",
                    "dev.etcdlock.LockLost")) {
                recording.enable(event).withThreshold(Duration.ZERO);
            }
            recording.start();
            run = CliRun.of("demo", "--endpoints", etcd.endpoints());
            recording.stop();
            recording.dump(file);
        }
        assertEquals(0, run.code(), run::toString);
        assertTrue(Files.size(file) > 0);

        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().startsWith("dev.etcdlock.") && e.hasField("name")
                        && DemoCommand.LOCK.equals(e.getString("name")))
                .sorted((a, b) -> a.getStartTime().compareTo(b.getStartTime()))
                .toList();
        List<RecordedEvent> acquired = ofType(events, "dev.etcdlock.LockAcquired");
        List<RecordedEvent> released = ofType(events, "dev.etcdlock.LockReleased");
        String all = events + "\n" + run;
        assertEquals(2, acquired.size(), all);
        assertEquals(2, released.size(), all);
        assertEquals(List.of(), ofType(events, "dev.etcdlock.LockLost"), all);

        RecordedEvent app1 = acquired.get(0);
        RecordedEvent app2 = acquired.get(1);
        assertTrue(app2.getLong("fencingToken") > app1.getLong("fencingToken"), all);
        for (RecordedEvent e : acquired) {
            assertEquals("MUTEX", e.getString("kind"), all);
            assertTrue(e.getString("key").startsWith(DemoCommand.LOCK + "/"), all);
            assertTrue(e.getLong("leaseId") != 0, all);
            assertEquals(DemoCommand.LOCK + "/" + Long.toHexString(e.getLong("leaseId")), e.getString("key"), all);
        }
        assertTrue(app1.getDuration("waitTime").toNanos() > 0, all);
        // app-2 waits for app-1's second of work
        assertTrue(app2.getDuration("waitTime").toMillis() >= 900, all);

        // each release carries its acquisition's token, app-1's first; app-1 held about a second
        assertEquals(app1.getLong("fencingToken"), released.get(0).getLong("fencingToken"), all);
        assertEquals(app2.getLong("fencingToken"), released.get(1).getLong("fencingToken"), all);
        assertTrue(released.get(0).getDuration("holdTime").toMillis() >= 900, all);
        assertTrue(released.get(1).getDuration("holdTime").toNanos() > 0, all);
    }

    private static List<RecordedEvent> ofType(List<RecordedEvent> events, String type) {
        return events.stream().filter(e -> e.getEventType().getName().equals(type)).toList();
    }
}
