using System.Text;
using Conversations.Api.Endpoints;
using Conversations.Memory;
using Microsoft.AspNetCore.Http;

namespace Conversations.Portal.Knowledge;

/// <summary>
/// The knowledge page's upload: each file posted becomes a document of the knowledge base through the same grain call and
/// the same checks as <c>POST /v1/knowledge_bases/{kb}/documents</c> (plain text or Markdown, at most
/// <see cref="MaxCharacters"/> characters, Markdown by its extension). A refused file is named and leaves the others.
/// </summary>
public static class KnowledgeUpload
{
    public const int MaxCharacters = KnowledgeBaseEndpoints.MaxDocumentCharacters;

    private static readonly string[] MarkdownExtensions = [".md", ".markdown"];
    private static readonly string[] TextExtensions = [".txt", ".text"];
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>What became of the files: a sentence for the page, and the first refusal (its status is the page's).</summary>
    public sealed record Outcome(string Message, GatewayError? Refused);

    public static async Task<Outcome> AddAsync(IKnowledgeBaseGrain knowledgeBase, IFormFileCollection files)
    {
        if (files.Count == 0)
        {
            return new("No file was chosen.", GatewayError.Invalid("Choose at least one file.", "files", "invalid_value"));
        }

        var accepted = new List<string>();
        var existing = new List<string>();
        GatewayError? refused = null;
        foreach (var file in files)
        {
            var read = await ReadAsync(file);
            var added = read.IsSuccess
                ? await knowledgeBase.AddDocument(new NewDocument(Ids.New(Ids.Document), read.Value.Filename, read.Value.Format, read.Value.Text))
                : read.Error;
            if (!added.IsSuccess)
            {
                refused ??= added.Error;
                continue;
            }

            (added.Value.Outcome == DocumentUploadOutcome.Existing ? existing : accepted).Add(added.Value.Document.Filename);
        }

        var message = new StringBuilder();
        if (accepted.Count > 0)
        {
            message.Append("Uploaded ").AppendJoin(", ", accepted).Append(": chunking and embedding. ");
        }

        if (existing.Count > 0)
        {
            message.Append("Already in this knowledge base: ").AppendJoin(", ", existing).Append(". ");
        }

        if (refused is not null)
        {
            message.Append(refused.Message);
        }

        return new(message.ToString().TrimEnd(), refused);
    }

    private static async Task<Result<(string Filename, string Format, string Text)>> ReadAsync(IFormFile file)
    {
        var name = Path.GetFileName(file.FileName);
        var extension = Path.GetExtension(name).ToLowerInvariant();
        var format = MarkdownExtensions.Contains(extension) ? DocumentFormats.Markdown
            : TextExtensions.Contains(extension) || file.ContentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase) ? DocumentFormats.Text
            : null;
        if (format is null || name.Length is 0 or > 256)
        {
            return GatewayError.Invalid($"'{name}' is not a plain-text or Markdown file (.txt, .md) with a name of at most 256 characters.", "files", "invalid_value");
        }

        string text;
        try
        {
            using var reader = new StreamReader(file.OpenReadStream(), StrictUtf8, detectEncodingFromByteOrderMarks: true);
            text = await reader.ReadToEndAsync();
        }
        catch (DecoderFallbackException)
        {
            return GatewayError.Invalid($"'{name}' is not UTF-8 text.", "files", "invalid_value");
        }

        return text.Length is 0 or > MaxCharacters || string.IsNullOrWhiteSpace(text)
            ? GatewayError.Invalid($"'{name}' must hold 1 to {MaxCharacters} characters of text.", "files", "invalid_value")
            : (name, format, text);
    }
}
