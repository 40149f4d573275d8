using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Conversations.Grains.Guardrails;
using Conversations.Guardrails;

namespace Conversations.Bench;

/// <summary>
/// The guardrail work one call adds in the silo, with every recognizer on: the input screen over a chat request of eight
/// messages holding PII (masking), the answer streamed back through mask restoring and the output window, at 1 and 64
/// concurrent callers. The baseline, measured in the same run, is serializing the same request to JSON, which every
/// call does anyway; the ratio gives the scale on a noisy machine. Not through HTTP: the stages alone.
/// </summary>
public static class GuardrailsBench
{
    private static readonly GuardrailPolicy All = new(
        new PiiPolicy(GuardrailActions.Mask, PiiKinds.All), new InjectionPolicy(GuardrailActions.Flag), new OutputPolicy(GuardrailActions.Redact));

    private static readonly IReadOnlyList<NewItem> Messages =
    [
        new(Roles.System, "You are the support assistant of an online shop. Be brief and polite."),
        new(Roles.User, "Hello, my order ORD-2026-000123 has not arrived. I ordered it on 2026-11-30."),
        new(Roles.Assistant, "I am sorry to hear that. Could you give me the email address on the order?"),
        new(Roles.User, "It is ana.garcia@example.com, and my phone is +44 20 7946 0958."),
        new(Roles.Assistant, "Thank you. I found the order; it left the warehouse on 2026-12-02 and is on its way."),
        new(Roles.User, "Can you refund it to my card 4111 1111 1111 1111 instead? Or to GB82 WEST 1234 5698 7654 32."),
        new(Roles.Assistant, "I can start a refund once the parcel is returned. Version 2.15.0 of the app shows its status."),
        new(Roles.User, "Fine. My address at work is 10.20.30.40 if that matters. Thanks for the help with all of this."),
    ];

    private static readonly string[] Answer =
        [.. "You said: It is <EMAIL_1>, and my phone is <PHONE_1>. I will refund <CREDIT_CARD_1> once the parcel is back; expect it within five working days.".Split(' ').Select(w => w + " ")];

    public static async Task<(string Markdown, JsonArray Json)> Run(TimeSpan duration)
    {
        var rows = new List<Row>();
        foreach (var concurrency in new[] { 1, 64 })
        {
            var baseline = await Measurement.Run("serialize", concurrency, duration, async () => { await Task.Yield(); Serialize(); });
            var guarded = await Measurement.Run("guardrails", concurrency, duration, async () => { await Task.Yield(); Guard(); });
            rows.Add(new Row(concurrency, guarded.P50Ms * 1000, guarded.P99Ms * 1000, baseline.P50Ms * 1000, baseline.P99Ms * 1000,
                Environment.ProcessorCount * 1e6 / guarded.OpsPerSecond, Environment.ProcessorCount * 1e6 / baseline.OpsPerSecond));
        }

        var markdown = new StringBuilder();
        markdown.AppendLine("## Guardrails: time added per call in the silo, every recognizer on");
        markdown.AppendLine();
        markdown.AppendLine("Input screen (8 messages, 5 entities masked), answer restored token by token and screened by the output window;");
        markdown.AppendLine("baseline: serializing the same request to JSON, in the same run. A noisy shared 2-core machine: read the ratios.");
        markdown.AppendLine();
        markdown.AppendLine("With 64 callers on few cores the latencies are mostly queueing; the CPU time per call (cores / throughput) is the cost.");
        markdown.AppendLine();
        markdown.AppendLine("| callers | guardrails p50 µs | p99 µs | CPU µs per call | baseline p50 µs | p99 µs | CPU µs per call | CPU vs baseline |");
        markdown.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            markdown.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Concurrency} | {row.P50Us:0.0} | {row.P99Us:0.0} | {row.CpuUs:0.0} | {row.BaselineP50Us:0.0} | {row.BaselineP99Us:0.0} | {row.BaselineCpuUs:0.0} | {row.CpuUs / row.BaselineCpuUs:0.0} |");
        }

        return (markdown.ToString(), [.. rows.Select(r => (JsonNode)JsonSerializer.SerializeToNode(r, JsonOutput.Options)!)]);
    }

    private static void Serialize()
    {
        if (JsonSerializer.Serialize(Messages).Length == 0)
        {
            throw new InvalidOperationException("Nothing serialized.");
        }
    }

    private static void Guard()
    {
        var screened = PromptScreen.Run(Messages, All);
        if (screened.Blocked is not null || screened.Masks.IsEmpty)
        {
            throw new InvalidOperationException("The screen should have masked the request.");
        }

        var restorer = new StreamRestorer(screened.Masks);
        var window = new AnswerWindow(new PiiRewriter(PiiSelection.All, _ => GuardrailActions.Redact, "output", new GuardrailTally()));
        var sent = 0;
        foreach (var token in Answer)
        {
            sent += restorer.Push(window.Push(token).Text).Length; // the output window first, then the masks restored (the stages' order)
        }

        sent += restorer.Push(window.Flush().Text).Length + restorer.Flush().Length;
        if (sent == 0)
        {
            throw new InvalidOperationException("Nothing streamed.");
        }
    }

    private sealed record Row(int Concurrency, double P50Us, double P99Us, double BaselineP50Us, double BaselineP99Us, double CpuUs, double BaselineCpuUs);
}
