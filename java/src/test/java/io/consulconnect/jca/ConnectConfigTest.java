package io.consulconnect.jca;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.Test;

/** The JCA layer's settings: the core's grammar, and the README's defaults. */
public class ConnectConfigTest {
    @Test
    public void durationsAndFlagsUseTheCoresGrammar() {
        ConnectConfig c = ConnectConfig.of(Map.of(ConnectConfig.READY_TIMEOUT, "1.5s",
                ConnectConfig.SESSION_TIMEOUT, "10.000s", ConnectConfig.INTENTIONS, "FALSE"));
        assertEquals(Duration.ofMillis(1500), c.readyTimeout());
        // Once read as 100 s by this class's own parser.
        assertEquals(Duration.ofSeconds(10), c.sessionTimeout());
        assertEquals(false, c.intentions());
        assertEquals(Duration.ZERO, ConnectConfig.of(Map.of(ConnectConfig.READY_TIMEOUT, "0s")).readyTimeout());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> ConnectConfig.of(Map.of(ConnectConfig.READY_TIMEOUT, "10 parsecs")));
        assertTrue(bad.getMessage(), bad.getMessage().contains(ConnectConfig.READY_TIMEOUT));
        bad = assertThrows(IllegalArgumentException.class,
                () -> ConnectConfig.of(Map.of(ConnectConfig.INTENTIONS, "yes")));
        assertTrue(bad.getMessage(), bad.getMessage().contains(ConnectConfig.INTENTIONS));
        bad = assertThrows(IllegalArgumentException.class,
                () -> ConnectConfig.of(Map.of(ConnectConfig.SESSION_TIMEOUT, "400d")));
        assertTrue(bad.getMessage(), bad.getMessage().contains("365d"));
    }

    @Test
    public void theReadmeDocumentsTheseDefaults() throws Exception {
        Map<String, String> documented = new HashMap<>();
        for (String line : Files.readAllLines(Path.of("README.md"))) {
            if (line.startsWith("| `consulconnect.")) {
                String[] cells = line.split("\\|");
                documented.put(cells[1].trim().replace("`", ""), cells[3].trim());
            }
        }
        ConnectConfig defaults = ConnectConfig.of(Map.of());
        for (Map.Entry<String, String> e : ConnectConfig.DEFAULTS.entrySet()) {
            assertEquals("README default of " + e.getKey(), "`" + e.getValue() + "`", documented.get(e.getKey()));
        }
        assertEquals(ConnectConfig.of(ConnectConfig.DEFAULTS).toString(), defaults.toString());
        assertEquals(Duration.ofSeconds(30), defaults.readyTimeout());
        assertTrue(documented.containsKey(ConnectConfig.EXPECT));
    }
}
