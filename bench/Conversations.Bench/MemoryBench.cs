using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Providers;

namespace Conversations.Bench;

/// <summary>
/// LongMemEval-style memory: seeded conversations of 1,000 turns (<see cref="MemoryScenario"/>) are loaded into the real
/// conversation grain, indexed and extracted as each strategy does, and then asked their questions as turns against
/// the simulated upstream, which records the context it receives. Per strategy and ability: how often the evidence
/// the answer needs reached the upstream (for updates, the newest value, and the older one absent, marked superseded or
/// said before it), prompt tokens per question against the full history's, and context build time.
/// </summary>
public static class MemoryBench
{
    /// <summary>The seed the committed figures and the defaults were tuned on; <c>--seed</c> checks them on conversations not tuned on.</summary>
    public const int TunedSeed = 20_261_207;

    /// <summary>The strategies compared; recall with <paramref name="topK"/> and <paramref name="minScore"/> (null: the policy's default).</summary>
    private static (string Name, ContextPolicy Policy)[] Strategies(int topK, float? minScore) =>
    [
        ("window (10 turns)", new ContextPolicy(WindowTurns: 10)),
        ("recall, dense", new ContextPolicy(WindowTurns: 10, RecallTopK: topK, RecallMinScore: minScore, RetrievalMode: RetrievalModes.Dense)),
        ("recall, hybrid", new ContextPolicy(WindowTurns: 10, RecallTopK: topK, RecallMinScore: minScore)),
        ("extraction", new ContextPolicy(WindowTurns: 10, Extractor: "extractor")),
        ("everything", new ContextPolicy(WindowTurns: 10, RecallTopK: topK, RecallMinScore: minScore, Extractor: "extractor", Summarizer: "summarizer", SummarizeAfterTokens: 400, SummaryTokens: 300)),
    ];

    public static async Task<(string Markdown, JsonArray Json)> Run(int upstreamPort, int seed, int conversations, int turns, string? only, int topK, float? minScore)
    {
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, 0);
        await using var cluster = await ContextBench.StartCluster(upstreamPort, cacheIndexedEmbeddings: true);
        var buildTimes = new List<double>();
        using var listener = ContextBench.ListenToBuildTimes(buildTimes);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{upstreamPort}") };
        var loadAtStart = BenchServers.LoadAverage();
        var scenarios = Enumerable.Range(0, conversations).Select(i => MemoryScenario.Generate(seed + i, turns)).ToList();

        var rows = new List<Row>();
        foreach (var (name, policy) in Strategies(topK, minScore).Where(s => only is null || s.Name.Contains(only, StringComparison.OrdinalIgnoreCase)))
        {
            await WarmUp(cluster.Client, policy, seed);
            var outcomes = new List<Outcome>();
            var times = new List<(double Ms, int Conversation, int Question)>();
            var load = Stopwatch.StartNew();
            var loading = TimeSpan.Zero;
            foreach (var (scenario, number) in scenarios.Select((s, i) => (s, i + 1)))
            {
                var (conversation, fullTokens, loaded) = await Load(cluster.Client, scenario, policy);
                loading += loaded;
                Take(buildTimes);
                foreach (var (question, asked) in scenario.Questions.Select((q, i) => (q, i + 1)))
                {
                    var result = await ContextBench.Turn(conversation, question.Text);
                    times.AddRange(Take(buildTimes).Select(ms => (ms, number, asked)));
                    var sent = JsonNode.Parse(await http.GetStringAsync(new Uri("/sim/requests?last=1", UriKind.Relative)))!.AsArray()[^1]!["messages"]!.AsArray()
                        .Select(m => m!["content"]!.GetValue<string>()).ToList();
                    outcomes.Add(Judge(question, scenario, sent[..^1], result.Usage.InputTokens, fullTokens));
                    if (Environment.GetEnvironmentVariable("MEMORY_BENCH_MISSES") is not null && !outcomes[^1].Reached && question.Evidence.Count > 0)
                    {
                        Console.Error.WriteLine($"MISS [{name}] {question.Ability}: {question.Text} needs {string.Join(" / ", question.Evidence)}\n  "
                            + string.Join("\n  ", sent.Where(m => m.StartsWith(ContextBuilder.RecallHeading, StringComparison.Ordinal))));
                    }
                    fullTokens += Tokens(question.Text) + Tokens(result.Text);
                }
            }

            Console.Error.WriteLine($"{name}: slowest builds " + string.Join(", ", times.OrderByDescending(t => t.Ms).Take(6)
                .Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Ms:0.0} ms (conversation {t.Conversation}, question {t.Question})"))));
            rows.Add(Summarize(name, outcomes, [.. times.Select(t => t.Ms).Order()], loading));
            Console.Error.WriteLine($"{name}: done in {load.Elapsed.TotalSeconds:0} s; the table so far:\n{Report(rows, scenarios, seed, turns, topK, minScore, (loadAtStart, BenchServers.LoadAverage()))}");
        }

        return (Report(rows, scenarios, seed, turns, topK, minScore, (loadAtStart, BenchServers.LoadAverage())), new JsonArray([.. rows.Select(r => (JsonNode)JsonSerializer.SerializeToNode(r, JsonOutput.Options)!)]));
    }

    /// <summary>
    /// The process's first turns under a policy run code for the first time (JIT): a small conversation of its own, not measured, so the
    /// build times are a warm process's, as a service's are after its first minute.
    /// </summary>
    private static async Task WarmUp(IGrainFactory grains, ContextPolicy policy, int seed)
    {
        var scenario = MemoryScenario.Generate(seed - 1, 100);
        var (conversation, _, _) = await Load(grains, scenario, policy);
        foreach (var question in scenario.Questions.Take(10))
        {
            await ContextBench.Turn(conversation, question.Text);
        }
    }

    private static List<double> Take(List<double> buildTimes)
    {
        lock (buildTimes)
        {
            var taken = buildTimes.ToList();
            buildTimes.Clear();
            return taken;
        }
    }

    /// <summary>A new conversation under <paramref name="policy"/> holding the scenario's turns, indexed and extracted as the policy says.</summary>
    private static async Task<(IConversationGrain Conversation, long FullTokens, TimeSpan Loaded)> Load(IGrainFactory grains, MemoryScenario.Conversation scenario, ContextPolicy policy)
    {
        var conversation = grains.GetGrain<IConversationGrain>(GrainKeys.For("bench", Ids.New(Ids.Conversation)));
        await conversation.Create(new Dictionary<string, string>(), [], policy);
        var started = Stopwatch.StartNew();
        long full = 0;
        foreach (var batch in scenario.Turns.Chunk(50))
        {
            var items = batch.SelectMany(t => new[] { new NewItem(Roles.User, t.User), new NewItem(Roles.Assistant, t.Assistant) }).ToList();
            full += items.Sum(i => Tokens(i.Text));
            var added = await conversation.AddItems(items);
            if (!added.IsSuccess)
            {
                throw new InvalidOperationException($"Adding items failed: {added.Error!.Message}");
            }
        }

        var count = scenario.Turns.Count * 2;
        if (policy.Extractor is not null)
        {
            await ContextBench.Turn(conversation, "Hello again, let us continue."); // a turn schedules extraction
            count += 2;
        }

        while (await conversation.GetMemory() is { Value: var memory } && !Ready(memory!, policy, count, await LastItem(conversation)))
        {
            await Task.Delay(200);
        }

        return (conversation, full, started.Elapsed);
    }

    private static async Task<string?> LastItem(IConversationGrain conversation) =>
        (await conversation.ListItems(new ItemQuery(null, 1, false))).Value?.Items is [var last, ..] ? last.Id : null;

    private static bool Ready(ConversationMemory memory, ContextPolicy policy, int items, string? last) =>
        (!policy.Recalls || memory.IndexedItems >= items) && (policy.Extractor is null || memory.ExtractedThroughItemId == last);


    private static int Tokens(string text) => TokenCounter.Shared.Count(text) + TokenCounter.MessageOverhead;

    /// <summary>Whether the context held what the question needs; see the class summary.</summary>
    private static Outcome Judge(MemoryScenario.Question question, MemoryScenario.Conversation scenario, List<string> sent, int promptTokens, long fullTokens)
    {
        var facts = sent.FirstOrDefault(m => m.StartsWith(ContextBuilder.FactsHeading, StringComparison.Ordinal)) ?? string.Empty;
        var rest = string.Join('\n', sent.Where(m => !m.StartsWith(ContextBuilder.FactsHeading, StringComparison.Ordinal)));
        var statements = question.Evidence.Select(value => scenario.Statements.GetValueOrDefault((question.Text, value))).ToList();
        var lines = rest.Split('\n');
        int Position(string? statement) => statement is null ? -1 : rest.IndexOf(statement, StringComparison.Ordinal);
        bool InFacts(string value) => facts.Contains(value, StringComparison.Ordinal);
        var found = question.Evidence.Select((value, i) => Position(statements[i]) >= 0 || InFacts(value)).ToList();
        var planted = scenario.Statements.Values.Count(s => rest.Contains(s, StringComparison.Ordinal));

        var reached = question.Ability switch
        {
            MemoryScenario.Abstention => false,
            MemoryScenario.Temporal => Position(statements[0]) >= 0 && Position(statements[1]) > Position(statements[0]),
            MemoryScenario.Updates => found[^1] && Newer(),
            _ => found.All(f => f),
        };
        return new Outcome(question.Ability, reached, promptTokens, fullTokens, planted);

        // The newest value is current: in the facts with the older one absent or only as what it replaced (marked superseded), or said
        // after every unmarked mention of the older one.
        bool Newer()
        {
            var old = scenario.Statements.GetValueOrDefault((question.Text, question.Replaced!));
            var (newest, replaced) = (question.Evidence[^1], question.Replaced!);
            if (InFacts(newest) && facts.Split('\n').Where(l => l.Contains(replaced, StringComparison.Ordinal)).All(l =>
                l.Contains(ContextBuilder.SupersededMark, StringComparison.Ordinal) && l.IndexOf(newest, StringComparison.Ordinal) is >= 0 and var at
                && at < l.IndexOf(replaced, StringComparison.Ordinal)))
            {
                return true;
            }

            var unmarked = lines.Where(l => old is not null && l.Contains(old, StringComparison.Ordinal) && !l.Contains(ContextBuilder.SupersededMark, StringComparison.Ordinal)).ToList();
            return unmarked.Count == 0 || rest.LastIndexOf(unmarked[^1], StringComparison.Ordinal) < Position(statements[^1]);
        }
    }

    private static Row Summarize(string name, List<Outcome> outcomes, double[] times, TimeSpan loading)
    {
        var answerable = outcomes.Where(o => o.Ability != MemoryScenario.Abstention).ToList();
        var byAbility = MemoryScenario.Abilities.Where(a => a != MemoryScenario.Abstention).ToDictionary(
            a => a, a => outcomes.Count(o => o.Ability == a && o.Reached) / (double)Math.Max(1, outcomes.Count(o => o.Ability == a)));
        var abstaining = outcomes.Where(o => o.Ability == MemoryScenario.Abstention).ToList();
        return new Row(
            name, answerable.Count(o => o.Reached) / (double)answerable.Count, byAbility,
            abstaining.Count == 0 ? 0 : abstaining.Average(o => o.PlantedInContext),
            outcomes.Average(o => o.PromptTokens), outcomes.Average(o => o.PromptTokens / (double)o.FullTokens),
            ContextBench.Percentile(times, 0.5), ContextBench.Percentile(times, 0.99), loading.TotalSeconds);
    }

    private static string Report(List<Row> rows, List<MemoryScenario.Conversation> scenarios, int seed, int turns, int topK, float? minScore, (string Start, string End) load)
    {
        var markdown = new StringBuilder();
        var questions = scenarios.Sum(s => s.Questions.Count);
        markdown.AppendLine(CultureInfo.InvariantCulture, $"# Memory: LongMemEval-style questions on long conversations ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        markdown.AppendLine();
        markdown.AppendLine(CultureInfo.InvariantCulture,
            $"{scenarios.Count} conversations of {turns:N0} turns (seeds {seed} on{(seed == TunedSeed ? ", the seed the defaults were tuned on" : ", not tuned on")}), {scenarios.Sum(s => s.Planted)} planted statements of {scenarios.Sum(s => s.Questions.Count(q => q.Evidence.Count > 0))} facts, {questions} questions asked after the last turn, phrased unlike the statements:");
        markdown.AppendLine(string.Join(", ", MemoryScenario.Abilities.Select(a => string.Create(CultureInfo.InvariantCulture, $"{scenarios.Sum(s => s.Questions.Count(q => q.Ability == a))} {a}"))) + ".");
        markdown.AppendLine(CultureInfo.InvariantCulture, $"Every strategy keeps a 10-turn window; recall takes recall_top_k {topK}, recall_min_score {minScore ?? ContextPolicy.Default.RecallMinScore}, recall_tokens {ContextPolicy.Default.RecallTokens}.");
        markdown.AppendLine("Evidence reached: the statements the answer needs are in the context the simulated upstream received (or their values in the facts section);");
        markdown.AppendLine("for an update, the newest value, with the older one absent, marked superseded or said before it; for temporal questions, both statements in the order said.");
        markdown.AppendLine("Abstention needs a real model to judge (whether it declines); the gateway's part shown is how many planted statements (distractors) it sent for those questions.");
        markdown.AppendLine();
        markdown.AppendLine("| strategy | evidence reached, answerable | " + string.Join(" | ", MemoryScenario.Abilities.Where(a => a != MemoryScenario.Abstention)) + " | abstention: planted statements sent | prompt tokens per question | vs full history | build p50 ms | build p99 ms | load + index + extract s |");
        markdown.AppendLine("|---|---:|" + string.Concat(Enumerable.Repeat("---:|", 4)) + "---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            markdown.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Strategy} | {r.Reached:P1} | {string.Join(" | ", r.ByAbility.Values.Select(v => v.ToString("P0", CultureInfo.InvariantCulture)))} | {r.AbstentionPlanted:0.0} | {r.PromptTokens:N0} | {r.VsFullHistory:P1} | {r.BuildP50Ms:0.00} | {r.BuildP99Ms:0.00} | {r.LoadSeconds:0} |");
        }

        markdown.AppendLine();
        markdown.AppendLine("Facts are extracted by the simulated model's pattern extractor (\"my … is …\" statements only), summaries by its echo: those rows show the");
        markdown.AppendLine("mechanism, not a real model's quality. Recall uses the local all-MiniLM-L6-v2 model; build time includes embedding the question.");
        markdown.AppendLine(CultureInfo.InvariantCulture, $"The machine is shared and noisy (load average {load.Start} at the start, {load.End} at the end): compare rows within one run, not across runs.");
        return markdown.ToString();
    }

    private sealed record Outcome(string Ability, bool Reached, int PromptTokens, long FullTokens, int PlantedInContext);

    private sealed record Row(
        string Strategy, double Reached, IReadOnlyDictionary<string, double> ByAbility, double AbstentionPlanted, double PromptTokens, double VsFullHistory,
        double BuildP50Ms, double BuildP99Ms, double LoadSeconds);
}
