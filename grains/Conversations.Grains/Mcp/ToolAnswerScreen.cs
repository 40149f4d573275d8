using Conversations.Grains.Guardrails;
using Conversations.Guardrails;
using ModelContextProtocol.Protocol;

namespace Conversations.Grains.Mcp;

/// <summary>
/// An upstream MCP tool's answer under the caller's guardrails, as a tool output on the call path is screened
/// (<see cref="PromptScreen"/>): injection heuristics, then PII. A blocked answer becomes a tool error naming the
/// guardrail (never the value); a masked or redacted value leaves the gateway as its placeholder, since no mask table
/// follows an answer out. Structured content that changed under screening is dropped, its text blocks kept.
/// </summary>
public static class ToolAnswerScreen
{
    public static CallToolResult Run(CallToolResult result, GuardrailPolicy? policy, string tenant)
    {
        if (policy is null || (policy.Pii is null && policy.Injection is null))
        {
            return result;
        }

        var content = new List<ContentBlock>(result.Content.Count);
        var changed = false;
        foreach (var block in result.Content)
        {
            if (block is not TextContentBlock text)
            {
                content.Add(block);
                continue;
            }

            var (screened, blocked) = Screen(text.Text, policy, tenant);
            if (blocked is not null)
            {
                return Withheld(blocked);
            }

            changed |= !ReferenceEquals(screened, text.Text);
            content.Add(ReferenceEquals(screened, text.Text) ? text : new TextContentBlock { Text = screened });
        }

        var structured = result.StructuredContent;
        if (structured is { } given)
        {
            var json = given.GetRawText();
            var (screened, blocked) = Screen(json, policy, tenant);
            if (blocked is not null)
            {
                return Withheld(blocked);
            }

            if (!ReferenceEquals(screened, json))
            {
                (structured, changed) = (null, true);
            }
        }

        return changed ? new CallToolResult { Content = content, StructuredContent = structured, IsError = result.IsError, Meta = result.Meta } : result;
    }

    private static (string Text, GatewayError? Blocked) Screen(string text, GuardrailPolicy policy, string tenant)
    {
        var screened = PromptScreen.Run([NewItem.OutputOf("tool", text)], policy);
        GatewayMetrics.Guardrails(tenant, screened.Report);
        return (screened.Messages[0].Text, screened.Blocked);
    }

    private static CallToolResult Withheld(GatewayError blocked) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = "The tool's answer was withheld. " + blocked.Message.Replace("The request was blocked", "It was blocked", StringComparison.Ordinal) }],
    };
}
