using System.ComponentModel;
using System.Text.Json;
using Conversations.Memory;
using Conversations.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace Conversations.Api.Mcp;

/// <summary>
/// The tenant's knowledge and conversation memory as MCP tools. Each tool acts only within the caller's tenant (every
/// grain key and vector scope starts with it) and is offered only to keys whose scopes allow its endpoint group:
/// <c>knowledge</c> for <c>list_knowledge_bases</c> and <c>knowledge_search</c>, <c>conversations</c> for the conversation tools. A refusal is a tool
/// error (<see cref="McpException"/>), which the model reads.
/// </summary>
public sealed class MemoryTools(Caller caller, IGrainFactory grains, IStatelessInference inference)
{
    public const int MaxResults = 20;

    /// <summary>The tools <paramref name="caller"/> may use.</summary>
    public static IEnumerable<McpServerTool> For(Caller caller, IServiceProvider services)
    {
        var tools = new MemoryTools(caller, services.GetRequiredService<IGrainFactory>(), services.GetRequiredService<IStatelessInference>());
        if (caller.MayUseEndpoints(EndpointGroups.Knowledge))
        {
            yield return Tool(tools.ListKnowledgeBases, "list_knowledge_bases", readOnly: true,
                "List the organization's knowledge bases: the id (kb_…) to pass to knowledge_search, a name saying what each holds, and how many documents it has.");
            yield return Tool(tools.KnowledgeSearch, "knowledge_search", readOnly: true,
                "Search the organization's knowledge bases (manuals, policies, documentation) for passages relevant to a question. " +
                "Returns the best-matching passages, best first, each with a citation id ('kb/document#chunk') to quote when answering.");
        }

        if (caller.MayUseEndpoints(EndpointGroups.Conversations))
        {
            yield return Tool(tools.ConversationSearch, "conversation_search", readOnly: true,
                "Recall what was said earlier in one conversation: the messages most relevant to a query, best first, with their item ids. " +
                "Only conversations that recall (context policy recall_top_k above 0) are indexed; others return no results.");
            yield return Tool(tools.FactsGet, "conversation_facts_get", readOnly: true,
                "Read the facts remembered about one conversation (for example the user's name or preferences) as key/value pairs.");
            yield return Tool(tools.FactsSet, "conversation_facts_set", readOnly: false,
                "Remember or forget facts about one conversation: each key is set to its value, or removed when the value is null. " +
                "Returns all facts after the change.");
        }
    }

    private async Task<string> ListKnowledgeBases()
    {
        var kbs = await Endpoints.KnowledgeBaseEndpoints.ListAll(grains, caller.Tenant);
        return Json(new { knowledge_bases = kbs.Select(kb => new { id = kb.Id, name = kb.Name, document_count = kb.Documents }) });
    }

    private async Task<string> KnowledgeSearch(
        [Description("What to look for, in natural language: a question or key words.")] string query,
        [Description("Ids of the knowledge bases to search (kb_…), as given by the user or the application.")] string[] knowledge_base_ids,
        [Description("How many passages to return, 1 to 20.")] int top_k = 5)
    {
        if (knowledge_base_ids is not { Length: > 0 } || knowledge_base_ids.Length > MaxResults)
        {
            throw new McpException($"knowledge_base_ids: name 1 to {MaxResults} knowledge bases.");
        }

        foreach (var kb in knowledge_base_ids.Distinct(StringComparer.Ordinal))
        {
            if (!(await grains.GetGrain<IKnowledgeBaseGrain>(GrainKeys.For(caller.Tenant, kb)).Get()).IsSuccess)
            {
                throw new McpException($"knowledge_base_ids: no knowledge base found with id '{kb}'.");
            }
        }

        var matches = await inference.Search(caller.Tenant, [.. knowledge_base_ids.Distinct(StringComparer.Ordinal).Select(KnowledgeScopes.Scope)], Query(query), Top(top_k));
        return Json(new { results = matches.Select(m => new { citation = m.Id, text = m.Text, score = m.Score }) });
    }

    private async Task<string> ConversationSearch(
        [Description("The conversation's id (conv_…).")] string conversation_id,
        [Description("What to recall, in natural language.")] string query,
        [Description("How many messages to return, 1 to 20.")] int top_k = 5)
    {
        await Conversation(conversation_id);
        var matches = await inference.Search(caller.Tenant, [VectorScopes.Conversation(conversation_id)], Query(query), Top(top_k));
        return Json(new { results = matches.Select(m => new { item_id = m.Source, text = m.Text, score = m.Score }) });
    }

    private async Task<string> FactsGet([Description("The conversation's id (conv_…).")] string conversation_id)
    {
        var memory = await (await Conversation(conversation_id)).GetMemory();
        return memory.IsSuccess ? Json(new { facts = memory.Value.Facts }) : throw new McpException(memory.Error.Message);
    }

    private async Task<string> FactsSet(
        [Description("The conversation's id (conv_…).")] string conversation_id,
        [Description("Facts to set, as key/value strings; a null value forgets that key.")] Dictionary<string, string?> facts)
    {
        if (facts is not { Count: > 0 })
        {
            throw new McpException("facts: give at least one key.");
        }

        var memory = await (await Conversation(conversation_id)).UpdateFacts(facts);
        return memory.IsSuccess ? Json(new { facts = memory.Value.Facts }) : throw new McpException(memory.Error.Message);
    }

    /// <summary>The caller's conversation; another tenant's id is not found, as an unknown one is.</summary>
    private async Task<IConversationGrain> Conversation(string id)
    {
        var conversation = grains.GetGrain<IConversationGrain>(GrainKeys.For(caller.Tenant, id));
        return !string.IsNullOrWhiteSpace(id) && (await conversation.Get()).IsSuccess
            ? conversation
            : throw new McpException($"conversation_id: no conversation found with id '{id}'.");
    }

    private static string Query(string query) =>
        string.IsNullOrWhiteSpace(query) ? throw new McpException("query: expected a non-empty string.") : query;

    private static int Top(int top) =>
        top is >= 1 and <= MaxResults ? top : throw new McpException($"top_k: expected an integer from 1 to {MaxResults}.");

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, ApiJson.Options);

    private static McpServerTool Tool(Delegate method, string name, bool readOnly, string description) =>
        McpServerTool.Create(method, new McpServerToolCreateOptions { Name = name, Description = description, ReadOnly = readOnly, Destructive = false });
}
