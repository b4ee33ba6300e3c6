// Verifies a reghook webhook with the JDK only (11 or later), as a single-file program.
// Usage: java Verify.java signed-webhook.json [now-unix-seconds]
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class Verify {
    static final long TOLERANCE_SECONDS = 300;

    /** Throws unless the raw body is signed with the secret and fresh. */
    static void verify(String secret, Map<String, String> headers, byte[] body, long now) throws Exception {
        byte[] key = Base64.getDecoder().decode(secret.replaceFirst("^whsec_", ""));
        String id = headers.get("webhook-id");
        String timestamp = headers.get("webhook-timestamp");
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
        byte[] expected = ("v1," + Base64.getEncoder().encodeToString(mac.doFinal(body))).getBytes(StandardCharsets.UTF_8);
        // Any entry may match: during a secret rotation there is one signature per secret.
        boolean matches = false;
        for (String entry : headers.get("webhook-signature").split(" ")) {
            if (MessageDigest.isEqual(entry.getBytes(StandardCharsets.UTF_8), expected)) matches = true;
        }
        if (!matches) throw new SecurityException("no webhook-signature matches");
        if (!timestamp.matches("[0-9]{1,18}") || Math.abs(now - Long.parseLong(timestamp)) > TOLERANCE_SECONDS) {
            throw new SecurityException("webhook-timestamp is more than 5 minutes away from now");
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> sample = stringFields(Files.readString(Path.of(args[0])));
        long now = args.length > 1 ? Long.parseLong(args[1]) : System.currentTimeMillis() / 1000;
        try {
            // In a web handler: the request's raw body bytes, never re-serialized JSON.
            verify(sample.get("secret"), sample, sample.get("body").getBytes(StandardCharsets.UTF_8), now);
        } catch (SecurityException | IllegalArgumentException error) {
            System.err.println("refused: " + error.getMessage());
            System.exit(1);
        }
        System.out.println("verified " + sample.get("webhook-id"));
    }

    /**
     * Every "name": "string" pair of a JSON text, at any depth, with escapes decoded. Not a JSON
     * parser: it is enough for the sample (string values, names unique across its two levels) and
     * keeps this program free of libraries. A real handler gets its headers and body from the request.
     */
    static Map<String, String> stringFields(String json) {
        Map<String, String> fields = new HashMap<>();
        String name = null;
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (c != '"') {
                if (c == '{' || c == ',' || c == '[') name = null;
                continue;
            }
            StringBuilder text = new StringBuilder();
            for (i++; json.charAt(i) != '"'; i++) {
                char d = json.charAt(i);
                if (d != '\\') {
                    text.append(d);
                    continue;
                }
                char e = json.charAt(++i);
                switch (e) {
                    case 'b': text.append('\b'); break;
                    case 'f': text.append('\f'); break;
                    case 'n': text.append('\n'); break;
                    case 'r': text.append('\r'); break;
                    case 't': text.append('\t'); break;
                    case 'u': text.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16)); i += 4; break;
                    default: text.append(e); // \" \\ \/
                }
            }
            int next = i + 1;
            while (next < json.length() && Character.isWhitespace(json.charAt(next))) next++;
            if (next < json.length() && json.charAt(next) == ':') {
                name = text.toString();
            } else if (name != null) {
                fields.put(name, text.toString());
                name = null;
            }
        }
        return fields;
    }
}
