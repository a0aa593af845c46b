package awslambda

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

// rolePolicyName names the role's one inline policy.
const rolePolicyName = "threefactor"

type roleSeen struct {
	arn    string
	trust  string
	policy string // "" when the inline policy is gone
	tags   map[string]string
}

func (d *Driver) createRole(ctx context.Context, name string, tags map[string]string) (string, error) {
	ctx, acted := trackActed(ctx)
	out, err := d.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(trustPolicy()),
		Description:              aws.String("Runs the threefactor handler " + tags[HandlerTag] + "."),
		Tags:                     iamTags(tags),
	})
	if ownRetry(err, acted) {
		if r, rerr := d.readRole(ctx, name); rerr == nil && r != nil && r.tags[HandlerTag] == tags[HandlerTag] {
			return r.arn, nil
		}
	}
	if err != nil {
		return "", fail(driver.Identity, "creating", name, err)
	}
	return aws.ToString(out.Role.Arn), nil
}

// updateRole restores the trust policy and tags of an existing role.
func (d *Driver) updateRole(ctx context.Context, cur *roleSeen, tags map[string]string) error {
	name := lastPart(cur.arn)
	if !sameJSON(cur.trust, trustPolicy()) {
		if _, err := d.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: &name, PolicyDocument: aws.String(trustPolicy())}); err != nil {
			return fail(driver.Identity, "updating", cur.arn, err)
		}
	}
	err := plumbing.Retag(tags, cur.tags,
		func(keys []string) error {
			_, err := d.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: &name, TagKeys: keys})
			return err
		},
		func(set map[string]string) error {
			_, err := d.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: &name, Tags: iamTags(set)})
			return err
		})
	return fail(driver.Identity, "updating", cur.arn, err)
}

func (d *Driver) putRolePolicy(ctx context.Context, roleARN, doc string) error {
	_, err := d.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(lastPart(roleARN)), PolicyName: aws.String(rolePolicyName), PolicyDocument: aws.String(doc),
	})
	return fail(driver.Identity, "updating the policy of", roleARN, err)
}

// readRole returns nil when the role is gone. GetRole carries the tags.
func (d *Driver) readRole(ctx context.Context, arn string) (*roleSeen, error) {
	name := lastPart(arn)
	out, err := d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Identity, "reading", arn, err)
	}
	r := &roleSeen{arn: aws.ToString(out.Role.Arn), trust: aws.ToString(out.Role.AssumeRolePolicyDocument), tags: map[string]string{}}
	for _, t := range out.Role.Tags {
		r.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	p, err := d.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &name, PolicyName: aws.String(rolePolicyName)})
	switch {
	case err == nil:
		r.policy = decodeDoc(aws.ToString(p.PolicyDocument))
	case !isNotFound(err):
		return nil, fail(driver.Identity, "reading the policy of", arn, err)
	}
	return r, nil
}

func (d *Driver) deleteRole(ctx context.Context, arn string) error {
	name := lastPart(arn)
	_, err := d.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &name, PolicyName: aws.String(rolePolicyName)})
	if err := codes.IgnoreNotFound(err); err != nil {
		return fail(driver.Identity, "deleting", arn, err)
	}
	_, err = d.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &name})
	return fail(driver.Identity, "deleting", arn, codes.IgnoreNotFound(err))
}

func iamTags(m map[string]string) []iamtypes.Tag {
	var ts []iamtypes.Tag
	for _, k := range sortedKeys(m) {
		ts = append(ts, iamtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return ts
}
