package dev.sgbackup.store.sourcegraph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsoncTest {

    @Test
    void findsEveryValueOfAJsoncDocumentWithCommentsAndTrailingCommas() {
        String text = TestData.fixture("site-config.jsonc");
        Map<String, Jsonc.Value> idx = Jsonc.index(text);
        assertThat(idx).containsKeys("", "/externalURL", "/auth.providers/0/type", "/email.smtp/port",
                "/repoListUpdateInterval");
        Jsonc.Value url = idx.get("/externalURL");
        assertThat(url.string()).isEqualTo("https://sourcegraph.example.com");
        assertThat(text.substring(url.start(), url.end())).isEqualTo("\"https://sourcegraph.example.com\"");
        assertThat(idx.get("/email.smtp/port").type()).isEqualTo(Jsonc.Type.NUMBER);
    }

    @Test
    void replacesInPlaceKeepingCommentsTrailingCommasAndLayout() {
        String text = TestData.fixture("site-config.jsonc");
        String out = Jsonc.replace(text, Map.of("/externalURL", Jsonc.quote("https://new.example.com"),
                "/email.smtp/port", "2525"));
        String expected = text.replace("\"https://sourcegraph.example.com\"", "\"https://new.example.com\"")
                .replace("\"port\": 25,", "\"port\": 2525,");
        assertThat(out).isEqualTo(expected);
        assertThat(out).contains("/* Only built-in username/password sign-in. */", "// Trailing comma");
    }

    @Test
    void substitutesRedactedSecretsOfTheApiAnswerByteForByte() {
        String redacted = TestData.fixture("site-config.redacted.json");
        List<String> pointers = Secrets.redactedPointers(redacted);
        assertThat(pointers).containsExactly("/auth.providers/1/clientSecret", "/auth.providers/2/clientSecret",
                "/email.smtp/username", "/email.smtp/password", "/executors.accessToken",
                "/observability.alerts/0/notifier/url");
        // put the real values back: the result is exactly the original document
        Map<String, Jsonc.Value> full = Jsonc.index(TestData.fixture("site-config.json"));
        Map<String, String> repl = new LinkedHashMap<>();
        for (String p : pointers) {
            repl.put(p, Jsonc.quote(full.get(p).string()));
        }
        assertThat(Jsonc.replace(redacted, repl)).isEqualTo(TestData.fixture("site-config.json"));
    }

    @Test
    void pointerTokensAreEscapedAndStringsDecoded() {
        String text = "{\"a/b\": {\"c~d\": \"x\\\"y\\u0041\"}, \"list\": [1, {\"k\": true},]}";
        Map<String, Jsonc.Value> idx = Jsonc.index(text);
        assertThat(idx.get("/a~1b/c~0d").string()).isEqualTo("x\"yA");
        assertThat(idx.get("/list/1/k").type()).isEqualTo(Jsonc.Type.LITERAL);
        assertThat(Jsonc.replace(text, Map.of("/a~1b/c~0d", Jsonc.quote("n\new"))))
                .isEqualTo("{\"a/b\": {\"c~d\": \"n\\new\"}, \"list\": [1, {\"k\": true},]}");
    }

    @Test
    void addsAMissingMemberToAnExistingObject() {
        String text = "{\n  // comment\n  \"a\": 1,\n}\n";
        assertThat(Jsonc.replace(text, Map.of("/b", "\"x\""))).isEqualTo("{\n  // comment\n  \"a\": 1, \"b\": \"x\",\n}\n");
        assertThat(Jsonc.replace("{ }", Map.of("/b", "2"))).isEqualTo("{\"b\": 2 }");
        assertThatThrownBy(() -> Jsonc.replace(text, Map.of("/missing/deep", "1")))
                .hasMessageContaining("/missing/deep").hasMessageContaining("no parent object");
    }

    @Test
    void rejectsBrokenTextWithLineAndColumnButNoContent() {
        assertThatThrownBy(() -> Jsonc.scan("{\n  \"token\": \"s3cret\" \"x\": 1}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 2")
                .hasMessageNotContaining("s3cret");
        assertThatThrownBy(() -> Jsonc.scan("{\"a\": 1 /* open")).hasMessageContaining("comment");
        assertThatThrownBy(() -> Jsonc.scan("")).hasMessageContaining("empty");
        assertThatThrownBy(() -> Jsonc.scan("{} x")).hasMessageContaining("after the document");
    }

    @Test
    void valueToStringNeverShowsTheValue() {
        Jsonc.Value v = Jsonc.index("{\"token\": \"s3cret-value\"}").get("/token");
        assertThat(v.toString()).contains("/token").doesNotContain("s3cret");
    }
}
