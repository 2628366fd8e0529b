package io.consulconnect;

/**
 * Makes untrusted text (a peer's certificate names, messages that quote them) safe for a log
 * line: control characters and invisible direction or width formatting characters are
 * written as {@code \}{@code u{..}} escapes (as the native core's messages do), so a peer
 * can neither start a forged log line nor reorder what an operator reads.
 */
public final class LogText {
    private LogText() {}

    /**
     * The text with control and invisible formatting characters escaped.
     *
     * @param text any text, may be null
     * @return the escaped text ({@code "null"} for null)
     */
    public static String printable(String text) {
        if (text == null) {
            return "null";
        }
        StringBuilder out = null;
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            int next = i + Character.charCount(c);
            if (Character.isISOControl(c) || invisibleFormat(c)) {
                if (out == null) {
                    out = new StringBuilder(text.length() + 16).append(text, 0, i);
                }
                out.append(switch (c) {
                    case '\n' -> "\\n";
                    case '\r' -> "\\r";
                    case '\t' -> "\\t";
                    default -> "\\u{" + Integer.toHexString(c) + "}";
                });
            } else if (out != null) {
                out.appendCodePoint(c);
            }
            i = next;
        }
        return out == null ? text : out.toString();
    }

    private static boolean invisibleFormat(int c) {
        return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)
                || c == 0xFEFF;
    }
}
