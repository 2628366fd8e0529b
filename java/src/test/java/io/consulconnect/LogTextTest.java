package io.consulconnect;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;

import org.junit.Test;

public class LogTextTest {
    @Test
    public void controlAndInvisibleFormattingCharactersAreEscaped() {
        assertEquals("spiffe://td/svc/web\\n2026-01-01 INFO allowed admin",
                LogText.printable("spiffe://td/svc/web\n2026-01-01 INFO allowed admin"));
        assertEquals("a\\r\\u{1b}[31mb\\u{0}\\t", LogText.printable("a\r\u001b[31mb\u0000\t"));
        assertEquals("evil\\u{202e}txt", LogText.printable("evil\u202etxt"));
        assertEquals("zero\\u{200b}width\\u{feff}", LogText.printable("zero\u200bwidth\ufeff"));
        assertEquals("null", LogText.printable(null));
    }

    @Test
    public void printableTextIsReturnedAsItIs() {
        String text = "café/ns/default/dc/dc1/svc/web 😀";
        assertSame(text, LogText.printable(text));
    }
}
