namespace Conversations.Api.Errors;

/// <summary>
/// Decides which exceptions from the cluster are transient. While a silo is lost and its grains move
/// (seconds), calls fail with rejections, unavailable silos or timeouts: the client gets a 503 with
/// <c>retry-after</c>, never a 500 with a stack trace.
/// </summary>
public static class ClusterFailures
{
    public static bool IsTransient(Exception exception) => exception is
        OrleansMessageRejectionException
        or SiloUnavailableException
        or TimeoutException
        or OrleansException
        or EnumerationAbortedException
        or ClientNotAvailableException
        or OperationCanceledException; // callers catch it only when their request was not cancelled: Orleans gave up a directory lookup or placement

    /// <summary>What failed, in words an operator can act on; the exception (logged with it) names the grain and silo.</summary>
    public static string Describe(Exception exception) => exception switch
    {
        SiloUnavailableException => "the silo running the call became unavailable (stopped or declared dead); its conversations move to another silo",
        OrleansMessageRejectionException => "the cluster rejected the call (its target silo is leaving, lost or overloaded)",
        TimeoutException => "no answer came within Conversations:Cluster:ResponseTimeout (the silo running the call may be lost)",
        EnumerationAbortedException => "the silo streaming the call stopped sending (it was lost, or the grain was deactivated)",
        ClientNotAvailableException => "this process is not connected to the cluster",
        OperationCanceledException => "the cluster cancelled the call while placing it (a grain directory lookup during a membership change)",
        OrleansException => "the cluster could not complete the call",
        _ => "the call raised an error the cluster did not expect (a bug: the exception below says where)",
    };

    public static GatewayError ToGatewayError(Exception exception) => IsTransient(exception)
        ? ApiErrors.Unavailable("The service is briefly unavailable while the cluster recovers; retry the request.")
        : ApiErrors.Internal();
}
