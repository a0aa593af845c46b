package awslambda

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// keyARN resolves a queue's KmsMasterKeyId (a key id, key ARN, alias name or alias ARN) to the key's
// ARN: an IAM policy names keys by ARN, never by alias.
func (d *Driver) keyARN(ctx context.Context, id string) (string, error) {
	out, err := d.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &id})
	if err != nil {
		return "", fail(driver.Queue, "resolving the encryption key of", id, err)
	}
	return aws.ToString(out.KeyMetadata.Arn), nil
}
