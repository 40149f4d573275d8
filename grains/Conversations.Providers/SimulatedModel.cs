using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Conversations.Routing;

namespace Conversations.Providers;

/// <summary>
/// The simulated model: a deterministic reply derived from the input, usage counted with the real
/// tokenizer, configurable latency and token rate, and faults injected by directives in the last
/// user message:
/// <list type="bullet">
/// <item><c>[sim:status=503]</c> fails before the first token with that HTTP status;</item>
/// <item><c>[sim:cut=5]</c> streams five tokens, then ends the stream without finishing it (a truncated stream);</item>
/// <item><c>[sim:reset=5]</c> streams five tokens, then drops the connection;</item>
/// <item><c>[sim:hang]</c> never answers until cancelled (an upstream timeout);</item>
/// <item><c>[sim:stall=2]</c> streams two tokens, then waits until cancelled;</item>
/// <item><c>[sim:delay=250]</c> waits 250 ms before the first token;</item>
/// <item><c>[sim:tokens=200]</c> replies with about 200 tokens (made as they are sent, so any number costs no memory);</item>
/// <item><c>[sim:overrun]</c> ignores the request's output-token limit (a misbehaving upstream);</item>
/// <item><c>[sim:retry=2]</c> with a failing status, answers <c>retry-after: 2</c>;</item>
/// <item><c>[sim:call=get_weather]</c>, when the request offers that tool, calls it (arguments <c>{"input": what the user said}</c>)
/// instead of answering; several such directives make parallel calls.</item>
/// </list>
/// The reply echoes at most the first <see cref="EchoWords"/> words of what the user said, so a summarizer
/// built on it keeps the start of what it is given.
/// The calls are made only while the user's message is the last one: once a tool's output follows, the
/// model answers, quoting the outputs it was given (so a test can see they reached it).
/// A prompt longer than <see cref="SimulationOptions.ContextWindow"/> fails with 400 <c>context_length_exceeded</c>.
/// The attachments of the last user message (<paramref name="received"/>: images, files, audio, each with its type and size)
/// are listed at the end of the reply.
/// A server-wide <paramref name="fault"/> (directives applied to every request) lets a test make one upstream fail and another not.
/// The same model backs the in-process provider and the standalone simulated upstream server.
/// <para>
/// Asked for JSON output (<paramref name="json"/>: <c>ChatOptions.ResponseFormat</c> JSON in process, <c>response_format</c>
/// <c>json_object</c> or <c>json_schema</c> over HTTP), it answers one JSON object of the facts it finds in user messages
/// by one pattern, <c>my &lt;one to four words&gt; is &lt;value&gt;</c> (case-insensitive; the value ends at <c>. , ; ! ?</c>
/// or the line's end), keyed by the words in snake case without apostrophes: "My sister's name is Margot." gives
/// <c>{"sisters_name":"Margot"}</c>, a later statement of a key wins, and nothing found gives <c>{}</c>. Transcript lines
/// an assistant said (<c>assistant: …</c>) are skipped. This is a test double for a fact-extracting LLM, not an
/// extractor: it understands nothing else. <c>[sim:tokens=N]</c> still answers filler (not JSON).
/// </para>
/// </summary>
public sealed partial class SimulatedModel(TokenCounter tokens, SimulationOptions options)
{
    public SimulatedReply Reply(
        string model, IReadOnlyList<(string Role, string Text)> messages, string? fault = null, IReadOnlyCollection<string>? tools = null, bool json = false,
        IReadOnlyList<string>? received = null)
    {
        var lastUser = messages.LastOrDefault(m => m.Role == "user").Text ?? string.Empty;
        var directives = Directives.Parse(fault + " " + lastUser);
        var turn = messages.Count(m => m.Role == "user");
        var said = DirectivePattern().Replace(lastUser, string.Empty).Trim();
        var toolOutputs = messages.Reverse().TakeWhile(m => m.Role == "tool").Reverse().Select(m => m.Text).ToList();
        var calls = messages.Count > 0 && messages[^1].Role == "user"
            ? directives.Calls.Where(name => tools?.Contains(name) == true).Select(name => (Name: name, Arguments: JsonSerializer.Serialize(new { input = said }))).ToList()
            : [];
        if (calls.Count == 0 && directives.ReplyTokens is { } length)
        {
            return Filler(messages, Math.Max(1, length), directives);
        }

        var text = calls.Count > 0 ? string.Empty
            : json ? FactsStated(messages)
            : toolOutputs.Count > 0 ? $"Simulated reply from {model} (turn {turn}, {messages.Count} messages in context). The tools returned: {string.Join("; ", toolOutputs)}"
            : $"Simulated reply from {model} (turn {turn}, {messages.Count} messages in context). You said: {Echo(said)}" + Received(received);
        return new SimulatedReply(tokens.Split(text), Prompt(messages, ref directives), tokens.Count(text) + calls.Sum(c => tokens.Count($"{c.Name} {c.Arguments}")), directives) { Calls = calls };
    }

    /// <summary>What the last user message carried beside text (images, files, audio), so a test sees them arrive.</summary>
    private static string Received(IReadOnlyList<string>? received) =>
        received is { Count: > 0 } ? $" Received {received.Count} attachment(s): {string.Join(", ", received)}." : string.Empty;

    private int Prompt(IReadOnlyList<(string Role, string Text)> messages, ref Directives directives)
    {
        var promptTokens = tokens.CountPrompt(messages.Select(m => m.Text));
        if (options.ContextWindow is { } window && promptTokens > window)
        {
            directives = directives with { ContextOverflow = (promptTokens, window) };
        }

        return promptTokens;
    }

    /// <summary>Streams the reply's tokens with the configured timing, failing where the directives say.</summary>
    public async IAsyncEnumerable<string> Stream(SimulatedReply reply, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var directives = reply.Directives;
        if (directives.Hang)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        var delay = directives.Delay ?? options.FirstTokenLatency;
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken);
        }

        if (directives.ContextOverflow is var (prompt, window))
        {
            throw new ProviderException(400, $"This model's maximum context length is {window} tokens. However, your messages resulted in {prompt} tokens.")
            {
                Code = ProviderException.ContextLengthExceeded,
            };
        }

        if (directives.Status is { } status)
        {
            throw new ProviderException(status, $"Simulated upstream failure with status {status}.") { RetryAfter = directives.RetryAfter };
        }

        var interval = options.TokensPerSecond > 0 ? TimeSpan.FromSeconds(1 / options.TokensPerSecond) : TimeSpan.Zero;
        var sent = 0;
        foreach (var piece in reply.Pieces)
        {
            if (directives.StallAfter is { } stall && sent == stall)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            if (directives.CutAfter is { } cut && sent == cut)
            {
                throw new ProviderException(502, $"Simulated stream cut after {cut} tokens.");
            }

            if (directives.ResetAfter is { } reset && sent == reset)
            {
                throw new ProviderException(502, $"Simulated connection reset after {reset} tokens.") { ConnectionReset = true };
            }

            if (interval > TimeSpan.Zero && sent > 0)
            {
                await Task.Delay(interval, cancellationToken);
            }

            cancellationToken.ThrowIfCancellationRequested();
            sent++;
            yield return piece;
        }
    }

    /// <summary>JSON mode: the facts user messages state as "my … is …" (see the class summary).</summary>
    private static string FactsStated(IEnumerable<(string Role, string Text)> messages)
    {
        var facts = new System.Text.Json.Nodes.JsonObject();
        var lines = messages.Where(m => m.Role == "user").SelectMany(m => m.Text.Split('\n'))
            .Where(line => !line.TrimStart().StartsWith("assistant:", StringComparison.OrdinalIgnoreCase));
        foreach (Match match in lines.SelectMany(line => FactPattern().Matches(DirectivePattern().Replace(line, string.Empty))))
        {
            var words = match.Groups["key"].Value.ToLowerInvariant().Replace("'", string.Empty, StringComparison.Ordinal).Replace("’", string.Empty, StringComparison.Ordinal);
            facts[string.Join('_', words.Split(' ', StringSplitOptions.RemoveEmptyEntries))] = match.Groups["value"].Value.Trim();
        }

        return facts.ToJsonString();
    }

    /// <summary>What the user said, up to <see cref="EchoWords"/> words: a long input (a summarizer's transcript) gets a bounded reply, as from a real model.</summary>
    private static string Echo(string said)
    {
        var words = said.Split(' ', EchoWords + 1);
        return words.Length <= EchoWords ? said : string.Join(' ', words[..EchoWords]) + " …";
    }

    public const int EchoWords = 100;

    /// <summary>A reply of <paramref name="tokenCount"/> filler words, a token each, made one at a time as they are sent.</summary>
    private SimulatedReply Filler(IReadOnlyList<(string Role, string Text)> messages, int tokenCount, Directives directives) =>
        new(Enumerable.Range(0, tokenCount).Select(i => i == 0 ? Words[0] : " " + Words[i % Words.Length]), Prompt(messages, ref directives), tokenCount, directives);

    private static readonly string[] Words =
        ["the", "gateway", "keeps", "each", "conversation", "on", "the", "server", "so", "clients", "send", "only", "new", "messages"];

    [GeneratedRegex(@"\[sim:(?<name>[a-z]+)(=(?<value>[A-Za-z0-9_-]+))?\]", RegexOptions.CultureInvariant)]
    private static partial Regex DirectivePattern();

    [GeneratedRegex(@"\bmy\s+(?<key>[\p{L}\p{N}'’]+(?:\s+[\p{L}\p{N}'’]+){0,3}?)\s+is\s+(?<value>[^.,;!?\n]+)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex FactPattern();

    public sealed record Directives(int? Status, int? CutAfter, bool Hang, TimeSpan? Delay, int? ReplyTokens, int? StallAfter, int? ResetAfter, TimeSpan? RetryAfter)
    {
        /// <summary>Whether the reply ignores the request's output-token limit.</summary>
        public bool Overrun { get; init; }

        /// <summary>The functions the model is told to call.</summary>
        public IReadOnlyList<string> Calls { get; init; } = [];

        public (int Prompt, int Window)? ContextOverflow { get; init; }

        public static Directives Parse(string text)
        {
            int? status = null, cut = null, replyTokens = null, stall = null, reset = null;
            TimeSpan? delay = null, retryAfter = null;
            var (hang, overrun) = (false, false);
            var calls = new List<string>();
            foreach (Match match in DirectivePattern().Matches(text))
            {
                if (match.Groups["name"].Value == "call")
                {
                    calls.Add(match.Groups["value"].Value);
                    continue;
                }

                var value = match.Groups["value"].Success && int.TryParse(match.Groups["value"].Value, CultureInfo.InvariantCulture, out var number) ? number : 0;
                switch (match.Groups["name"].Value)
                {
                    case "status": status = value; break;
                    case "cut": cut = value; break;
                    case "hang": hang = true; break;
                    case "overrun": overrun = true; break;
                    case "delay": delay = TimeSpan.FromMilliseconds(value); break;
                    case "tokens": replyTokens = value; break;
                    case "stall": stall = value; break;
                    case "reset": reset = value; break;
                    case "retry": retryAfter = TimeSpan.FromSeconds(value); break;
                }
            }

            return new Directives(status, cut, hang, delay, replyTokens, stall, reset, retryAfter) { Calls = calls, Overrun = overrun };
        }
    }
}

/// <summary>A simulated reply: its text as the token-sized pieces it is sent in (made lazily), and its token counts.</summary>
public sealed record SimulatedReply(IEnumerable<string> Pieces, int PromptTokens, int CompletionTokens, SimulatedModel.Directives Directives)
{
    /// <summary>The most tokens the reply may send under <paramref name="requested"/>: unbounded when it overruns.</summary>
    public int? Limit(int? requested) => Directives.Overrun ? null : requested;

    /// <summary>The function calls the model makes instead of answering: name and arguments (JSON text).</summary>
    public IReadOnlyList<(string Name, string Arguments)> Calls { get; init; } = [];
}

/// <summary>A provider answered with an error status (or, for the simulated model, was told to).</summary>
public sealed class ProviderException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>The error code OpenAI uses when the prompt does not fit the model's context window.</summary>
    public const string ContextLengthExceeded = "context_length_exceeded";

    /// <summary>For the standalone server: drop the connection rather than end the stream.</summary>
    public bool ConnectionReset { get; init; }

    /// <summary>How long the provider asked callers to wait (its <c>retry-after</c>), if it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The provider's error code, when it is one routing acts on (<see cref="ContextLengthExceeded"/>).</summary>
    public string? Code { get; init; }
}
