using System.Diagnostics;
using System.Text.Json;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api.OpenApi;

/// <summary>
/// The gateway's own OpenAPI document (<c>/openapi/v1.json</c>) says what the API does: the bearer key, an operation id
/// on each operation, the error answers of every <c>/v1</c> call, optional fields optional; and a well-kept linter
/// (<c>@redocly/cli</c>, installed by the test command's <c>npm ci</c>) finds no error in it.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayOpenApiDocumentTests(GatewayFixture gateway)
{
    [Fact]
    [Trait(TestSpeed.Category, TestSpeed.Fast)]
    public async Task The_document_has_the_bearer_scheme_operation_ids_error_answers_and_a_chat_completion_needs_only_model_and_messages()
    {
        var document = await Document();

        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.Equal(["messages", "model"], schemas.GetProperty("ChatCompletionCreateJson").GetProperty("required").EnumerateArray().Select(p => p.GetString()).Order(StringComparer.Ordinal));
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("responses", out _))
            .Select(operation => (Path: path.Name, Method: operation.Name, Operation: operation.Value)))
            .ToList();
        Assert.True(operations.Count > 50, $"{operations.Count} operations");
        var ids = operations.Select(o => o.Operation.GetProperty("operationId").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(operations.Where(o => o.Path.StartsWith("/v1/", StringComparison.Ordinal)), o =>
        {
            Assert.Equal("bearer", Assert.Single(o.Operation.GetProperty("security").EnumerateArray()).EnumerateObject().Single().Name);
            foreach (var status in new[] { "401", "429", "503" })
            {
                Assert.True(o.Operation.GetProperty("responses").TryGetProperty(status, out _), $"{o.Method} {o.Path} documents no {status}");
            }
        });
    }

    [Fact]
    [Trait(TestSpeed.Category, TestSpeed.Fast)]
    public async Task Redocly_lints_the_document_with_no_error()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("openapi-").FullName, "openapi.json");
        await File.WriteAllTextAsync(file, (await Document()).GetRawText(), TestContext.Current.CancellationToken);
        var cli = Path.Combine(Repository.Root, "node_modules", "@redocly", "cli", "bin", "cli.js");
        Assert.True(File.Exists(cli), "Redocly's CLI is not installed: run 'npm ci' at the repository root (the README's test command does).");

        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { cli, "lint", file, "--extends=recommended", "--format=stylish" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["REDOCLY_TELEMETRY"] = "off";
        start.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        using var lint = Process.Start(start)!;
        var output = lint.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = lint.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await lint.WaitForExitAsync(TestContext.Current.CancellationToken);
        var report = await output + await errors;
        TestContext.Current.TestOutputHelper?.WriteLine(report);

        Assert.True(lint.ExitCode == 0, report); // it exits 1 on any error; warnings are reported, not failed
    }

    private async Task<JsonElement> Document()
    {
        using var http = gateway.Gateway.Http(apiKey: null);
        return JsonElement.Parse(await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative), TestContext.Current.CancellationToken));
    }
}
