package dev.etcdlock.internal.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.grpc.LoadBalancerProvider;
import io.grpc.LoadBalancerRegistry;
import io.grpc.NameResolver;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The service config must be one gRPC accepts (a bad one would only show as a channel that never balances). */
class LoadBalancingConfigTest {

    @SuppressWarnings("unchecked")
    private static Map<String, ?> outlierDetection(int members) {
        List<Map<String, ?>> policies = (List<Map<String, ?>>) Transport.loadBalancing(members).get("loadBalancingConfig");
        return (Map<String, ?>) policies.get(0).get("outlier_detection_experimental");
    }

    @Test
    void grpcAcceptsTheOutlierDetectionConfig() {
        LoadBalancerProvider provider = LoadBalancerRegistry.getDefaultRegistry()
                .getProvider("outlier_detection_experimental");
        assertNotNull(provider, "grpc-util's outlier detection is not on the classpath");
        for (int members : new int[] {2, 3, 5, 7}) {
            NameResolver.ConfigOrError parsed = provider.parseLoadBalancingPolicyConfig(outlierDetection(members));
            assertNull(parsed.getError(), () -> members + " members: " + parsed.getError());
        }
    }

    @Test
    void atMostAMinorityIsEjectedAndOneMemberIsNeverEjected() {
        // gRPC ejects while the ejected share is below the percentage, so these allow 1, 1, 1, 2 and 3 ejections
        assertEquals(50.0, outlierDetection(2).get("maxEjectionPercent"));
        assertEquals(33.0, outlierDetection(3).get("maxEjectionPercent"));
        assertEquals(25.0, outlierDetection(4).get("maxEjectionPercent"));
        assertEquals(40.0, outlierDetection(5).get("maxEjectionPercent"));
        assertEquals(42.0, outlierDetection(7).get("maxEjectionPercent"));
        assertEquals(List.of(Map.of("round_robin", Map.of())), Transport.loadBalancing(1).get("loadBalancingConfig"));
    }
}
