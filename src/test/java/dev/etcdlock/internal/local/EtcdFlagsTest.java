package dev.etcdlock.internal.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class EtcdFlagsTest {
    private static final List<String> OLD_SPELLING = List.of("--auth-token=simple",
            "--experimental-watch-progress-notify-interval=1s", "--experimental-enable-lease-checkpoint=true",
            "--experimental-initial-corrupt-check");

    @Test
    void from36TheExperimentalFlagsGetTheirNewNamesAndFeatureGates() {
        for (String version : List.of("3.6.5", "v3.7.0")) {
            assertEquals(List.of("--auth-token=simple", "--watch-progress-notify-interval=1s",
                    "--feature-gates=LeaseCheckpoint=true,InitialCorruptCheck=true"),
                    EtcdFlags.forVersion(version).translate(OLD_SPELLING), version);
        }
        assertEquals(List.of("--feature-gates=StopGRPCServiceOnDefrag=true,LeaseCheckpoint=false"),
                EtcdFlags.forVersion("3.6.0").translate(List.of("--feature-gates=StopGRPCServiceOnDefrag=true",
                        "--experimental-enable-lease-checkpoint=false")), "one --feature-gates flag");
    }

    @Test
    void before36TheNewNamesAndGatesGetTheExperimentalSpelling() {
        assertEquals(OLD_SPELLING.subList(0, 3).stream().toList(), EtcdFlags.forVersion("3.5.30").translate(List.of(
                "--auth-token=simple", "--watch-progress-notify-interval=1s", "--feature-gates=LeaseCheckpoint=true")));
        assertEquals(OLD_SPELLING, EtcdFlags.forVersion("3.4.23").translate(OLD_SPELLING), "old names stay");
        assertThrows(IllegalArgumentException.class,
                () -> EtcdFlags.forVersion("3.5.16").translate(List.of("--feature-gates=NoSuchGate=true")));
    }

    @Test
    void only34IsToldToLogWithZapToStderr() {
        assertEquals(List.of("--logger=zap", "--log-outputs=stderr"), EtcdFlags.forVersion("3.4.23").logging());
        assertEquals(List.of(), EtcdFlags.forVersion("3.5.16").logging());
        assertEquals(List.of(), EtcdFlags.forVersion("3.7.1").logging());
    }
}
