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
        or ClientNotAvailableException;

    public static GatewayError ToGatewayError(Exception exception) => IsTransient(exception)
        ? ApiErrors.Unavailable("The service is briefly unavailable while the cluster recovers; retry the request.")
        : ApiErrors.Internal();
}
