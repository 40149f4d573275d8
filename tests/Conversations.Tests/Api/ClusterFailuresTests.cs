using Conversations.Api.Errors;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api;

/// <summary>
/// Which failures of a grain call a client may retry. The silo-kill drills (FailoverTests, QuotaCrashDrill) showed Orleans
/// cancelling a placement's grain directory lookup while membership changed: that was answered 500 before.
/// </summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class ClusterFailuresTests
{
    public static TheoryData<Exception> Transient() =>
    [
        new OperationCanceledException(),
        new TaskCanceledException(),
        new TimeoutException(),
        new SiloUnavailableException(),
    ];

    [Theory]
    [MemberData(nameof(Transient))]
    public void A_failure_of_the_cluster_while_it_recovers_is_a_retriable_503(Exception failure)
    {
        var error = ClusterFailures.ToGatewayError(failure);

        Assert.Equal(503, error.Status);
        Assert.Equal("service_unavailable", error.Code);
    }

    [Fact]
    public void A_bug_is_a_500()
    {
        var error = ClusterFailures.ToGatewayError(new InvalidOperationException("a bug"));

        Assert.Equal(500, error.Status);
        Assert.Equal("internal_error", error.Code);
    }
}
